import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    reporters: ["default"],
    // Resets the fault ledger and prints the fault table at the end of the run.
    globalSetup: ["test/faults/global-setup.ts"],
  },
});
