// How a user's value appears inside a warning: quoted, on one line, and short.

const maxQuotedLength = 48;

/**
 * The value as a JSON string (escapes newlines and quotes), cut to `maxLength` (48) characters with "..."
 * (ASCII: warnings travel in HTTP Warning headers).
 */
export function quoted(value: string, maxLength = maxQuotedLength): string {
  return JSON.stringify(value.length > maxLength ? `${value.slice(0, maxLength - 3)}...` : value);
}
