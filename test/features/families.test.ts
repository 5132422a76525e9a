// Every family of a FeatureState on its own: `fromColumns(columns())` holds exactly the state it was given
// (same columns, byte for byte), writes the same slice of a vector, and keeps learning identically.
import { describe, expect, it } from "vitest";
import { CatalogIndex } from "../../src/features/catalog-index.ts";
import { HistoryFamily } from "../../src/features/history.ts";
import { FEATURE_COUNT } from "../../src/features/schema.ts";
import { SessionFamily } from "../../src/features/session.ts";
import type { Columns } from "../../src/features/snapshot.ts";
import { TasteFamily } from "../../src/features/taste.ts";
import { DEFAULT_FEATURE_OPTIONS, type FeatureOptions } from "../../src/features/types.ts";
import { UserFamily } from "../../src/features/users.ts";
import { smallCatalog, user } from "../listens/fixtures.ts";

function lcg(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

/** Columns as comparable text: name, type and bytes of every array, in order. */
function bytesOf(columns: Columns): string[] {
  return Object.entries(columns).map(
    ([name, a]) =>
      `${name}:${a.constructor.name}:${Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("hex")}`,
  );
}

const catalog = smallCatalog();
catalog.users.set(3, user(3, ["pop", "blues"], null));
const index = new CatalogIndex(catalog);
const options: FeatureOptions = { ...DEFAULT_FEATURE_OPTIONS, priorStrength: 7 };

interface Case<F> {
  make(): F;
  restore(columns: Columns): F;
  columns(family: F): Columns;
  /** Step `i` of a deterministic stream: feeds the family one input. */
  learn(family: F, i: number, rand: () => number): void;
  /** Writes the family's slice of a vector for probe `i`. */
  write(family: F, i: number, out: Float32Array): void;
}

/** Learns 700 steps, round-trips, then checks columns, writes and a further 3,300 steps agree. */
function roundTrip<F>(c: Case<F>): void {
  const original = c.make();
  const rand = lcg(17);
  for (let i = 0; i < 700; i++) c.learn(original, i, rand);
  const columns = c.columns(original);
  const copy = c.restore(columns);
  expect(bytesOf(c.columns(copy))).toEqual(bytesOf(columns));
  const probe = (family: F) => {
    const out = new Float32Array(FEATURE_COUNT * 40).fill(-7);
    for (let i = 0; i < 40; i++) c.write(family, i, out.subarray(i * FEATURE_COUNT));
    return Buffer.from(out.buffer).toString("hex");
  };
  expect(probe(copy)).toBe(probe(original));
  // Both keep learning the same way, growing their tables past the restored sizes.
  const a = lcg(99);
  const b = lcg(99);
  for (let i = 700; i < 4000; i++) {
    c.learn(original, i, a);
    c.learn(copy, i, b);
  }
  expect(bytesOf(c.columns(copy))).toEqual(bytesOf(c.columns(original)));
  expect(probe(copy)).toBe(probe(original));
  // The empty family round-trips too.
  const empty = c.make();
  expect(bytesOf(c.columns(c.restore(c.columns(empty))))).toEqual(bytesOf(c.columns(empty)));
}

const T = 1_700_000_000_000;

describe("feature families: columns() → fromColumns() round trip", () => {
  it("UserFamily (ids, latest listen, premium status)", () => {
    roundTrip<UserFamily>({
      make: () => new UserFamily(index),
      restore: (columns) => UserFamily.fromColumns(columns, index),
      columns: (f) => f.columns(),
      learn: (f, i, rand) => {
        const slot = f.intern([1, 2, 3, 500 + Math.floor(rand() * (i / 20 + 1))][Math.floor(rand() * 4)]);
        if (i % 37 === 0) f.observePurchase(slot);
        else f.observe(slot, T + i * 1000, [undefined, null, true, false, 1, 0, -1][i % 7]);
      },
      write: (f, i, out) => {
        const slot = i % 9 === 8 ? -1 : i % 8;
        f.write(slot, T + 3_600_000 * i, out, 0);
        out[1] = f.premiumOf(slot, undefined);
        out[2] = f.catalogUser(slot);
      },
    });
  });

  it("HistoryFamily (rates of user, status, track, artist and the user's pairs)", () => {
    const users = 12;
    roundTrip<HistoryFamily>({
      make: () => new HistoryFamily(index, options, users),
      restore: (columns) => HistoryFamily.fromColumns(columns, index, options),
      columns: (f) => f.columns(),
      learn: (f, _i, rand) => {
        const fraction = rand() < 0.1 ? Number.NaN : rand();
        f.observe(
          Math.floor(rand() * users),
          Math.floor(rand() * 4) - 1,
          rand() < 0.3 ? 1 : 0,
          rand() < 0.2 ? 1 : 0,
          fraction,
          Math.floor(rand() * 3) - 1,
        );
      },
      write: (f, i, out) => {
        out[0] = f.write(i % 13 === 12 ? -1 : i % users, (i % 4) - 1, [1, 0, Number.NaN][i % 3], out, 1);
      },
    });
  });

  it("SessionFamily (position, skips and previous outcome of each session)", () => {
    roundTrip<SessionFamily>({
      make: () => new SessionFamily(),
      restore: (columns) => SessionFamily.fromColumns(columns),
      columns: (f) => f.columns(),
      learn: (f, i, rand) => {
        // Past 1,024 sessions: the restored family grows its tables too.
        const session = Math.floor(rand() * (i < 700 ? 300 : 2000));
        f.observe(
          session,
          rand() < 0.2 ? Number.NaN : T + session * 1000,
          T + i * 1000,
          rand() < 0.3 ? 1 : 0,
          rand(),
        );
      },
      write: (f, i, out) => {
        const override =
          i % 5 === 0 ? { position: 2, previousSkipped: i % 10 === 0 ? null : true } : undefined;
        f.write(i % 7 === 0 ? undefined : i * 7, override, T + i * 60_000, 0.3, 3, out, 0);
      },
    });
  });

  it("TasteFamily (audio profile of what each user played out and skipped)", () => {
    const users = 6;
    roundTrip<TasteFamily>({
      make: () => new TasteFamily(index, users),
      restore: (columns) => TasteFamily.fromColumns(columns, index),
      columns: (f) => f.columns(),
      learn: (f, i, rand) => {
        if (i === 1500) f.ensureUsers(40); // more users after the restore
        f.observe(
          Math.floor(rand() * (i < 1500 ? users : 40)),
          Math.floor(rand() * 4) - 1,
          rand() < 0.3 ? 1 : 0,
        );
      },
      write: (f, i, out) => f.write(i % 11 === 10 ? -1 : i % users, (i % 4) - 1, 10, out, 0),
    });
  });

  it("refuses columns of another shape, naming the array", () => {
    const sessions = new SessionFamily();
    sessions.observe(1, T, T, 1, 0.5);
    sessions.observe(2, T, T, 0, 1);
    const columns = sessions.columns();
    expect(() => SessionFamily.fromColumns({ ...columns, skips: new Uint32Array(1) })).toThrow(
      'array "skips" has 1 values, expected 2',
    );
    expect(() => SessionFamily.fromColumns({ ...columns, sessionIds: Int32Array.of(4, 4) })).toThrow(
      "session 4 is repeated",
    );
    const taste = new TasteFamily(index, 2);
    expect(() =>
      TasteFamily.fromColumns({ ...taste.columns(), playedSum: new Float64Array(3) }, index),
    ).toThrow(/array "playedSum" has 3 values/);
    const history = new HistoryFamily(index, options, 2);
    const { "global.heardSum": _, ...withoutHeard } = history.columns();
    expect(() => HistoryFamily.fromColumns(withoutHeard, index, options)).toThrow(
      'lacks array "global.heardSum"',
    );
    const users = new UserFamily(index).columns();
    expect(() => UserFamily.fromColumns({ ...users, userIds: users.userIds.subarray(1) }, index)).toThrow(
      'array "userLastMs" has 3 values, expected 2',
    );
  });
});
