// argv + environment → validated flag values; every error names the flag and the bad value.

import { envName, type FlagSpec } from "./flags.js";

export type FlagValue = string | number | boolean | readonly string[];
export type FlagValues = ReadonlyMap<string, FlagValue>;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export interface ParsedArgs {
  readonly values: FlagValues;
  /** Arguments that are not flags, in order. */
  readonly positionals: readonly string[];
}

/**
 * Parses `--name value`, `--name=value` and `--bool-flag` (or `--bool-flag=false`); as Go's flag package
 * does, a known flag may also be written with one dash (`-name=value`).
 * A flag on the command line wins over its environment twin, which wins over the default.
 */
export function parseFlags(
  specs: readonly FlagSpec[],
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const raw = new Map<string, string[]>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const dashes = arg.startsWith("--") ? 2 : 1;
    const eq = arg.indexOf("=");
    const name = arg.slice(dashes, eq === -1 ? undefined : eq);
    // One dash is a flag only when it names one: "-" and other arguments stay positional.
    if (!arg.startsWith("-") || (dashes === 1 && !byName.has(name))) {
      positionals.push(arg);
      continue;
    }
    const spec = byName.get(name);
    if (!spec) throw new ConfigError(`unknown flag --${name} (see --help)`);
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (spec.kind === "bool") value = "true";
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new ConfigError(`--${name} needs a value`);
      value = next;
      i++;
    }
    const list = raw.get(name) ?? [];
    list.push(value);
    raw.set(name, list);
  }

  const values = new Map<string, FlagValue>();
  for (const spec of specs) {
    const fromArgs = raw.get(spec.name);
    const fromEnv = spec.environment === false ? undefined : env[envName(spec.name)];
    const source = fromArgs ? `--${spec.name}` : `${envName(spec.name)}`;
    const texts = fromArgs ?? (fromEnv !== undefined && fromEnv !== "" ? [fromEnv] : undefined);
    if (texts === undefined) {
      if (spec.default !== undefined) values.set(spec.name, convert(spec, [spec.default], `--${spec.name}`));
      continue;
    }
    values.set(spec.name, convert(spec, texts, source));
  }
  return { values, positionals };
}

const trueSpellings = new Set(["true", "1", "t", "T", "TRUE", "True"]);
const falseSpellings = new Set(["false", "0", "f", "F", "FALSE", "False"]);

function convert(spec: FlagSpec, texts: readonly string[], source: string): FlagValue {
  if (spec.kind === "list")
    return texts
      .flatMap((t) => t.split(","))
      .map((t) => t.trim())
      .filter((t) => t !== "");
  const text = texts[texts.length - 1] as string;
  switch (spec.kind) {
    case "bool": {
      // Go's strconv.ParseBool spellings, which the reference webhook's users pass.
      if (trueSpellings.has(text)) return true;
      if (falseSpellings.has(text)) return false;
      throw new ConfigError(`${source}: ${JSON.stringify(text)} is not true or false`);
    }
    case "int": {
      const range = `${spec.min ?? "-∞"}..${spec.max ?? "∞"}`;
      if (!/^-?\d+$/.test(text))
        throw new ConfigError(`${source}: ${JSON.stringify(text)} is not a whole number (${range})`);
      const n = Number(text);
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        throw new ConfigError(`${source}: ${n} is out of range (${range})`);
      }
      return n;
    }
    case "string": {
      if (spec.choices && !spec.choices.includes(text)) {
        throw new ConfigError(`${source}: ${JSON.stringify(text)} is not one of ${spec.choices.join(", ")}`);
      }
      return text;
    }
  }
}

export function stringValue(values: FlagValues, name: string): string | undefined {
  const v = values.get(name);
  return typeof v === "string" ? v : undefined;
}

export function requiredString(values: FlagValues, name: string): string {
  const v = stringValue(values, name);
  if (v === undefined || v === "") throw new ConfigError(`--${name} is required`);
  return v;
}

export function intValue(values: FlagValues, name: string): number {
  const v = values.get(name);
  if (typeof v !== "number") throw new ConfigError(`--${name} is required`);
  return v;
}

export function boolValue(values: FlagValues, name: string): boolean {
  return values.get(name) === true;
}

export function listValue(values: FlagValues, name: string): readonly string[] {
  const v = values.get(name);
  return Array.isArray(v) ? v : [];
}

/** Renders the flag table for --help. */
export function formatFlagHelp(specs: readonly FlagSpec[]): string {
  return specs
    .map((s) => {
      const dflt = s.default !== undefined ? ` (default ${JSON.stringify(s.default)})` : "";
      return `  --${s.name}${s.kind === "bool" ? "" : " VALUE"}\n      ${s.help}${dflt}\n      env: ${envName(s.name)}`;
    })
    .join("\n");
}
