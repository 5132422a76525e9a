// Turns simulated sessions into sessions.jsonl lines (in the chosen dialect, with the planned defects) and
// truth.jsonl lines, and keeps the statistics the manifest reports.
import { EventCode } from "../data/types.ts";
import { AucAccumulator } from "./auc.ts";
import type { SynthCatalog } from "./catalog.ts";
import {
  countRepairable,
  type DefectRates,
  type InjectionLedger,
  malformedVersion,
  NO_DEFECT,
  planSessionDefects,
  SESSION_ROW_DEFECTS,
  type SessionRowDefect,
} from "./defects.ts";
import {
  eventTypeSpellings,
  jsonString,
  noTrackToken,
  type SessionLineWriter,
  sessionLineWriter,
  timestampToken,
  unknownEventType,
} from "./format.ts";
import type { LineSink } from "./output.ts";
import { type Random, randomId } from "./random.ts";
import type { SessionBuffer } from "./sessions.ts";
import type { Dialect } from "./types.ts";

const FILE = "sessions";

export interface SessionStats {
  sessions: number;
  events: number;
  eventsByKind: Int32Array;
  plays: number;
  skips: number;
  sumPSkip: number;
  auc: AucAccumulator;
  firstMs: number;
  lastMs: number;
  /** 1 for every track some written event names (corrupted catalogue rows must avoid these). */
  referencedTracks: Uint8Array;
}

export class SessionWriter {
  readonly stats: SessionStats;
  private readonly spellings: string[];
  private readonly trackTokens: string[];
  private readonly line: SessionLineWriter;
  private readonly noTrack: string;
  private rows = new Int32Array(1024);
  private kinds = new Uint8Array(1024);
  private codes = new Uint8Array(1024);
  private readonly corrupted = new Set<string>();
  private readonly anyDefects: boolean;

  constructor(
    private readonly dialect: Dialect,
    private readonly catalog: SynthCatalog,
    private readonly rates: DefectRates,
    private readonly random: Random,
    private readonly ledger: InjectionLedger,
    private readonly sessionsSink: LineSink,
    private readonly truthSink: LineSink,
    private readonly takenIds: Set<string>,
  ) {
    this.spellings = eventTypeSpellings(dialect).map((s) => `"${s}"`);
    this.trackTokens = catalog.tracks.id.map(jsonString);
    this.line = sessionLineWriter(dialect);
    this.noTrack = noTrackToken(dialect);
    this.anyDefects = Object.values(rates).some((r) => r > 0);
    this.stats = {
      sessions: 0,
      events: 0,
      eventsByKind: new Int32Array(5),
      plays: 0,
      skips: 0,
      sumPSkip: 0,
      auc: new AucAccumulator(),
      firstMs: Number.POSITIVE_INFINITY,
      lastMs: Number.NEGATIVE_INFINITY,
      referencedTracks: new Uint8Array(catalog.tracks.count),
    };
  }

  write(buffer: SessionBuffer): void {
    const n = this.selectRows(buffer);
    const { rows, kinds, codes, stats } = this;
    if (this.anyDefects) planSessionDefects(kinds, n, this.random, this.rates, codes);
    else codes.fill(NO_DEFECT, 0, n);
    const user = String(this.catalog.users.id[buffer.userIndex]);
    const session = String(buffer.sessionId);
    stats.sessions++;
    let position = 0;
    for (let r = 0; r < n; r++) {
      const i = rows[r];
      const kind = buffer.kind[i];
      const track = buffer.track[i];
      const ms = buffer.timestampMs[i];
      const ts = timestampToken(this.dialect, ms);
      const trackToken = track >= 0 ? this.trackTokens[track] : this.noTrack;
      const clean = this.line(ts, user, trackToken, this.spellings[kind], session);
      let written = clean;
      if (codes[r] !== NO_DEFECT) {
        const corrupt = this.corruptLine(
          SESSION_ROW_DEFECTS[codes[r] - 1],
          ts,
          ms,
          user,
          trackToken,
          kind,
          session,
        );
        if (this.corrupted.has(corrupt)) codes[r] = NO_DEFECT;
        else {
          this.corrupted.add(corrupt);
          written = corrupt;
          this.ledger.add(FILE, SESSION_ROW_DEFECTS[codes[r] - 1]);
        }
      }
      this.sessionsSink.push(written);
      if (this.anyDefects) this.insertAfter(written, codes[r] === NO_DEFECT);

      stats.events++;
      stats.eventsByKind[kind]++;
      if (ms < stats.firstMs) stats.firstMs = ms;
      if (ms > stats.lastMs) stats.lastMs = ms;
      if (track >= 0) stats.referencedTracks[track] = 1;
      if (kind === EventCode.play) {
        const p = Math.round(buffer.pSkip[i] * 1e6) / 1e6;
        const skipped = buffer.skipped[i];
        stats.plays++;
        stats.skips += skipped;
        stats.sumPSkip += p;
        stats.auc.add(p, skipped);
        this.truthSink.push(
          `{"session_id": ${session}, "timestamp": ${ts}, "user_id": ${user}, "track_id": ${trackToken}, "position": ${position}, "p_skip": ${p}, "skipped": ${skipped}}`,
        );
        position++;
      }
    }
    if (this.anyDefects) countRepairable(kinds, codes, n, this.ledger);
  }

  /** Rows the dialect writes (2023Z has no buy_premium events) into `rows`/`kinds`; returns their count. */
  private selectRows(buffer: SessionBuffer): number {
    if (this.rows.length < buffer.length) {
      this.rows = new Int32Array(buffer.length * 2);
      this.kinds = new Uint8Array(buffer.length * 2);
      this.codes = new Uint8Array(buffer.length * 2);
    }
    let n = 0;
    for (let i = 0; i < buffer.length; i++) {
      if (this.dialect === "2023Z" && buffer.kind[i] === EventCode.buy_premium) continue;
      this.rows[n] = i;
      this.kinds[n] = buffer.kind[i];
      n++;
    }
    return n;
  }

  /** Duplicate and malformed lines inserted after a written row. */
  private insertAfter(written: string, clean: boolean): void {
    if (clean && this.rates.duplicate_row > 0 && this.random.next() < this.rates.duplicate_row) {
      this.sessionsSink.push(written);
      this.ledger.add(FILE, "duplicate_row");
    }
    if (this.rates.malformed_json > 0 && this.random.next() < this.rates.malformed_json) {
      const broken = malformedVersion(written, this.random);
      if (!this.corrupted.has(broken)) {
        this.corrupted.add(broken);
        this.sessionsSink.push(broken);
        this.ledger.add(FILE, "malformed_json");
      }
    }
  }

  private corruptLine(
    kind: SessionRowDefect,
    ts: string,
    ms: number,
    user: string,
    track: string,
    eventKind: number,
    session: string,
  ): string {
    const random = this.random;
    const type = this.spellings[eventKind];
    const nullish = (): string | null => {
      const u = random.next();
      return u < 0.7 ? "null" : u < 0.9 ? '""' : null;
    };
    switch (kind) {
      case "null_user_id":
        return this.line(ts, nullish(), track, type, session);
      case "null_event_type":
        return this.line(ts, user, track, nullish(), session);
      case "unknown_event_type":
        return this.line(ts, user, track, `"${unknownEventType(this.dialect, random.int(5))}"`, session);
      case "null_track_id":
        return this.line(ts, user, nullish(), type, session);
      case "bad_timestamp":
        return this.line(this.badTimestamp(ms), user, track, type, session);
      case "unknown_user":
        return this.line(ts, String(900_000 + random.int(100_000)), track, type, session);
      case "unknown_track": {
        let id = randomId(random);
        while (this.takenIds.has(id)) id = randomId(random);
        this.takenIds.add(id);
        return this.line(ts, user, jsonString(id), type, session);
      }
      case "null_session_id":
        return this.line(ts, user, track, type, random.next() < 0.75 ? "null" : null);
    }
  }

  /** A timestamp no reader can accept: month 13, epoch seconds where ms are expected, null, or prose. */
  private badTimestamp(ms: number): string {
    const iso = new Date(ms).toISOString();
    const month13 = `"${iso.slice(0, 5)}13${iso.slice(7, 19)}"`;
    const u = this.random.next();
    if (this.dialect === "epoch") {
      if (u < 0.4) return String(Math.floor(ms / 1000));
      if (u < 0.8) return month13;
      return "null";
    }
    if (u < 0.6) return month13;
    if (u < 0.8) return "null";
    return `"not a time ${iso.slice(11, 19)}"`;
  }
}
