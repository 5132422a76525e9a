// The package's version, read once from package.json: the CLI's --version and the OpenAPI document say it.
import { readFileSync } from "node:fs";

const packageJson = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

export const VERSION: string = packageJson.version;
