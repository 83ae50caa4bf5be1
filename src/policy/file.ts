// Reading --role-policy-file once at start: YAML (or JSON) text → a validated RolePolicy.

import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { type RolePolicy, RolePolicyError, rolePolicyFrom } from "./role-policy.js";

/** The policy in a YAML document; errors are prefixed with `source` (e.g. the flag and the path). */
export function parseRolePolicy(text: string, source: string): RolePolicy {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new RolePolicyError(`${source}: not valid YAML: ${(error as Error).message.split("\n")[0]}`);
  }
  try {
    return rolePolicyFrom(document);
  } catch (error) {
    if (error instanceof RolePolicyError) throw new RolePolicyError(`${source}: ${error.message}`);
    throw error;
  }
}

/** Reads and validates the policy file; a RolePolicyError names the flag, the file and the bad entry. */
export async function readRolePolicyFile(path: string): Promise<RolePolicy> {
  const source = `--role-policy-file ${path}`;
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new RolePolicyError(
      `${source}: cannot read it (${(error as NodeJS.ErrnoException).code ?? error})`,
    );
  }
  return parseRolePolicy(text, source);
}
