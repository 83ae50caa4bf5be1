// How a user's value appears inside a warning: quoted, on one line, and short.

const maxQuotedLength = 48;

/** The value as a JSON string (escapes newlines and quotes), cut to 48 characters with "..." (ASCII: warnings travel in HTTP Warning headers). */
export function quoted(value: string): string {
  return JSON.stringify(value.length > maxQuotedLength ? `${value.slice(0, maxQuotedLength - 3)}...` : value);
}
