// Vega-Lite spec -> SVG string, entirely offline: specs carry their data inline and the loader
// refuses every fetch, so a report can never depend on the network or on files beside it.
import * as vega from "vega";
import * as vl from "vega-lite";

export interface RenderOptions {
  /** Receives compiler and runtime warnings (they are otherwise dropped). */
  onWarning?: (message: string) => void;
}

/** A loader that refuses every fetch and records the attempt (vega only warns on load failures). */
function offlineLoader(errors: string[]): vega.Loader {
  const refuse = (what: string): Promise<never> => {
    const message = `charts are offline: refused to load ${what} (inline the data instead)`;
    errors.push(message);
    return Promise.reject(new Error(message));
  };
  return { load: refuse, sanitize: refuse, http: refuse, file: refuse } as unknown as vega.Loader;
}

// Vega reports dataflow errors through the logger while evaluating asynchronously; throwing there
// would escape as an uncaught exception, so errors are collected and raised after rendering.
function collectingLogger(onWarning: (message: string) => void, errors: string[]): vega.LoggerInterface {
  let level = vega.Warn;
  const join = (args: readonly unknown[]) => args.map(String).join(" ");
  const logger: vega.LoggerInterface = {
    level(next?: number) {
      if (next === undefined) return level as never;
      level = next;
      return logger as never;
    },
    error(...args: readonly unknown[]) {
      errors.push(join(args));
      return logger;
    },
    warn(...args: readonly unknown[]) {
      if (level >= vega.Warn) onWarning(join(args));
      return logger;
    },
    info() {
      return logger;
    },
    debug() {
      return logger;
    },
  };
  return logger;
}

/** Compiles a Vega-Lite spec and renders it headless to an SVG document string. */
export async function renderVegaLiteSvg(spec: object, options: RenderOptions = {}): Promise<string> {
  const errors: string[] = [];
  const logger = collectingLogger(options.onWarning ?? (() => {}), errors);
  const compiled = vl.compile(spec as vl.TopLevelSpec, { logger }).spec;
  const view = new vega.View(vega.parse(compiled), {
    renderer: "none",
    loader: offlineLoader(errors),
    logger,
    logLevel: vega.Warn,
  });
  const fail = () => new Error(`chart rendering failed: ${errors.join("; ")}`);
  let svg: string;
  try {
    svg = await view.toSVG();
  } catch (error) {
    // A dataflow error logged earlier is the cause; the renderer's own exception is a symptom.
    if (errors.length > 0) throw fail();
    throw error;
  } finally {
    view.finalize();
  }
  if (errors.length > 0) throw fail();
  return svg;
}
