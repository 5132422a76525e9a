// vitest globalSetup: a fresh fault ledger before the run, and its table printed after it (test/faults).
import { faultTable, resetFaultLedger } from "./table.ts";

export function setup(): void {
  resetFaultLedger();
}

export function teardown(): void {
  process.stdout.write(`\nfault suite (test/faults):\n${faultTable()}\n`);
}
