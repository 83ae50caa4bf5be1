// The projected token's lifetime from a `token-expiration` annotation: parsed, clamped, explained.

import { quoted } from "./quote.js";

export const minTokenExpiration = 600;
export const maxTokenExpiration = 86400;

export interface TokenExpiration {
  readonly seconds: number;
  /** Set when the annotation's value was not used as written. */
  readonly warning: string | undefined;
}

// Go's strconv.ParseInt, which the reference uses, accepts an optional sign and decimal digits only.
const wholeNumberPattern = /^[+-]?\d+$/;

/**
 * Reads a `token-expiration` value. A number outside 600..86400 is clamped (as the reference raises
 * values below 600 to 600); a value that is not a whole number is ignored in favour of `fallback`.
 * `source` names where the value came from, e.g. `pod annotation eks.amazonaws.com/token-expiration`.
 */
export function parseTokenExpiration(value: string, fallback: number, source: string): TokenExpiration {
  if (!wholeNumberPattern.test(value)) {
    return {
      seconds: fallback,
      warning: `${source} ${quoted(value)} is not a whole number of seconds (${minTokenExpiration}..${maxTokenExpiration}); using ${fallback}`,
    };
  }
  const seconds = Number(value);
  if (seconds < minTokenExpiration || seconds > maxTokenExpiration) {
    const clamped = seconds < minTokenExpiration ? minTokenExpiration : maxTokenExpiration;
    return {
      seconds: clamped,
      warning: `${source} ${quoted(value)} is outside ${minTokenExpiration}..${maxTokenExpiration} seconds; using ${clamped}`,
    };
  }
  return { seconds, warning: undefined };
}
