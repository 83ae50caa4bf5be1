// JSON Pointer (RFC 6901) paths for the patch operations we emit.

/** Escapes one path segment: `~` becomes `~0` and `/` becomes `~1`, in that order. */
export function escapePointerSegment(segment: string): string {
  if (!segment.includes("~") && !segment.includes("/")) return segment;
  return segment.replaceAll("~", "~0").replaceAll("/", "~1");
}

/** A pointer from unescaped segments: `jsonPointer("metadata", "labels", "a/b")` is `/metadata/labels/a~1b`. */
export function jsonPointer(...segments: readonly (string | number)[]): string {
  let pointer = "";
  for (const segment of segments) {
    pointer += `/${typeof segment === "number" ? segment : escapePointerSegment(segment)}`;
  }
  return pointer;
}
