// The admission and connection caps as `serve` applies them by default, read from the flag table.

import { serveConfigFrom } from "../../../src/config/config.js";
import { serveFlags } from "../../../src/config/flags.js";
import { parseFlags } from "../../../src/config/parse.js";

const defaults = serveConfigFrom(parseFlags(serveFlags, [], {}).values);

/** --max-reviews-in-flight and --max-bytes-in-flight at their defaults, for AppDeps and ServerDeps. */
export const defaultAdmissionLimits = {
  maxReviewsInFlight: defaults.maxReviewsInFlight,
  maxBytesInFlight: defaults.maxBytesInFlight,
} as const;

/** --max-connections at its default. */
export const defaultMaxConnections = defaults.maxConnections;
