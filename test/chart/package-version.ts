// package.json's version: the one version of the webhook, its image and its chart.

import { readFileSync } from "node:fs";

const packageJson = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

/** The version every other place must equal (Chart.yaml, the default image tag, --version). */
export const packageVersion: string = packageJson.version;
