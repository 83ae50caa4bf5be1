// The pod's `skip-containers` annotation: the containers that must not receive the identity.

/** Names from a comma-separated list, spaces around each name trimmed, empty entries dropped. */
export function parseSkipContainers(value: string): readonly string[] {
  const names: string[] = [];
  for (const part of value.split(",")) {
    const name = part.trim();
    if (name !== "" && !names.includes(name)) names.push(name);
  }
  return names;
}
