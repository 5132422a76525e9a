// The users a state knows: id → dense slot (the catalogue's users first, in catalogue order, then users met
// only in events), with each user's latest observed listen start and latest observed premium status.
// Every per-user table of the other families is indexed by these slots.
import type { CatalogIndex } from "./catalog-index.ts";
import { VectorReads, writeUserColumns } from "./reads.ts";
import { type Columns, column, sameRows } from "./snapshot.ts";
import type { FeatureFamily } from "./types.ts";

/** `premium` of a slot before any status was observed (then users.jsonl's flag counts). */
export const NO_STATUS = -2;

/**
 * A user's premium status now (1 / 0 / NaN unknown): the caller's word (`stated`; null = unknown) first,
 * then the latest status observed (`latest`: 1 / 0 / -1 unknown, NO_STATUS none), then users.jsonl's flag
 * (`catalogue`: 1 / 0 / -1, -1 for a user it does not hold).
 */
export function resolvePremium(
  stated: boolean | null | undefined,
  known: boolean,
  latest: number,
  catalogue: number,
): number {
  if (stated !== undefined) return stated === null ? Number.NaN : stated ? 1 : 0;
  if (!known) return Number.NaN;
  const status = latest === NO_STATUS ? catalogue : latest;
  return status < 0 ? Number.NaN : status;
}

export class UserFamily
  implements
    FeatureFamily<
      [slot: number, startMs: number, premium: boolean | number | null | undefined],
      [slot: number, timestampMs: number]
    >
{
  private readonly slots = new Map<number, number>();
  private readonly catalogUsers: number;
  private ids: Int32Array;
  /** Start of each user's latest observed listen (NaN before any). */
  private lastMs: Float64Array;
  /** Latest premium status seen per slot: 1 / 0 / -1 unknown, NO_STATUS none seen. */
  private premium: Int8Array;
  private readonly reads = new VectorReads();

  /** Knows the catalogue's users (their slots are their catalogue indexes). */
  constructor(private readonly index: CatalogIndex) {
    this.catalogUsers = index.userIds.length;
    const capacity = Math.max(16, this.catalogUsers * 2);
    this.ids = new Int32Array(capacity);
    this.lastMs = new Float64Array(capacity).fill(Number.NaN);
    this.premium = new Int8Array(capacity).fill(NO_STATUS);
    for (const id of index.userIds) this.intern(id);
  }

  /** Users known so far. */
  get size(): number {
    return this.slots.size;
  }

  /** Slot of a user id, -1 when unknown. */
  slotOf(id: number): number {
    return this.slots.get(id) ?? -1;
  }

  /** Index among the catalogue's users, -1 for a user users.jsonl does not hold. */
  catalogUser(slot: number): number {
    return slot < this.catalogUsers ? slot : -1;
  }

  /** Slot of a user id, created when new. */
  intern(id: number): number {
    const known = this.slots.get(id);
    if (known !== undefined) return known;
    const slot = this.slots.size;
    if (slot >= this.ids.length) this.grow(this.ids.length * 2);
    this.ids[slot] = id;
    this.slots.set(id, slot);
    return slot;
  }

  /** A finished listen of `slot`: its start, and the premium status it states (undefined = not said). */
  observe(slot: number, startMs: number, premium: boolean | number | null | undefined): void {
    if (!(this.lastMs[slot] >= startMs)) this.lastMs[slot] = startMs;
    if (premium === undefined) return;
    const p = premium;
    this.premium[slot] = p === null ? -1 : p === true ? 1 : p === false ? 0 : p > 0 ? 1 : p === 0 ? 0 : -1;
  }

  /** A `buy_premium` event: premium from now on. */
  observePurchase(slot: number): void {
    this.premium[slot] = 1;
  }

  /** Caller's word first, then the latest observed status, then users.jsonl (end-of-period status). */
  premiumOf(slot: number, stated: boolean | null | undefined): number {
    if (slot < 0) return resolvePremium(stated, false, NO_STATUS, -1);
    return resolvePremium(
      stated,
      true,
      this.premium[slot],
      slot < this.catalogUsers ? this.index.premium[slot] : -1,
    );
  }

  /** Fills the user part of `r`: whether the slot exists (-1 = unknown user) and its latest listen. */
  read(slot: number, r: VectorReads): void {
    r.userKnown = slot >= 0;
    r.userLastMs = slot >= 0 ? this.lastMs[slot] : Number.NaN;
  }

  /** `slot` = -1 for an unknown user. */
  write(slot: number, timestampMs: number, out: Float32Array, base: number): void {
    this.read(slot, this.reads);
    writeUserColumns(this.reads, timestampMs, out, base);
  }

  columns(): Columns {
    const n = this.slots.size;
    return {
      userIds: this.ids.subarray(0, n),
      userLastMs: this.lastMs.subarray(0, n),
      userPremium: this.premium.subarray(0, n),
    };
  }

  /** The slots must be the catalogue's users first, in catalogue order (what `columns()` gives). */
  static fromColumns(columns: Columns, index: CatalogIndex): UserFamily {
    const ids = column(columns, "userIds", Int32Array);
    const lastMs = column(columns, "userLastMs", Float64Array);
    const premium = column(columns, "userPremium", Int8Array);
    sameRows(ids.length, { userLastMs: lastMs, userPremium: premium });
    const family = new UserFamily(index);
    if (ids.length < family.catalogUsers) {
      throw new Error(`holds ${ids.length} users, fewer than the catalogue's ${family.catalogUsers}`);
    }
    for (let slot = 0; slot < ids.length; slot++) {
      if (slot < family.catalogUsers ? ids[slot] !== index.userIds[slot] : family.intern(ids[slot]) !== slot)
        throw new Error(`user ${ids[slot]} at slot ${slot} is out of the catalogue's order or repeated`);
    }
    family.lastMs.set(lastMs);
    family.premium.set(premium);
    return family;
  }

  private grow(capacity: number): void {
    const ids = new Int32Array(capacity);
    ids.set(this.ids);
    const lastMs = new Float64Array(capacity).fill(Number.NaN);
    lastMs.set(this.lastMs);
    const premium = new Int8Array(capacity).fill(NO_STATUS);
    premium.set(this.premium);
    this.ids = ids;
    this.lastMs = lastMs;
    this.premium = premium;
  }
}
