// Entry of a GBDT helper thread: TypeScript runs through tsx's loader, as in bin/skipwise.js.
import { register } from "tsx/esm/api";

register();
await import("./boosting-worker.ts");
