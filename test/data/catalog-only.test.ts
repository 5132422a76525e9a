import { describe, expect, it } from "vitest";
import { DeliveryError, loadCatalog, loadDelivery } from "../../src/data/index.ts";
import { sharedDelivery } from "../helpers/shared-data.ts";

describe("loadCatalog (the catalogue without the sessions, for a server)", () => {
  it("gives the same catalogue as loadDelivery, the defects repaired the same way", async () => {
    for (const name of ["2023L-v2", "2023L-v1-defects"] as const) {
      const full = await loadDelivery(sharedDelivery(name));
      const catalog = await loadCatalog(sharedDelivery(name));
      expect(catalog.tracks).toEqual(full.catalog.tracks);
      expect([...catalog.trackIndex]).toEqual([...full.catalog.trackIndex]);
      expect([...catalog.users]).toEqual([...full.catalog.users]);
      expect([...catalog.artists]).toEqual([...full.catalog.artists]);
      expect(catalog.storage.size).toBe(full.catalog.storage.size);
    }
  });

  it("names the folder when it does not exist", async () => {
    await expect(loadCatalog("/nonexistent/delivery")).rejects.toThrow(DeliveryError);
    await expect(loadCatalog("/nonexistent/delivery")).rejects.toThrow(/\/nonexistent\/delivery/);
  });
});
