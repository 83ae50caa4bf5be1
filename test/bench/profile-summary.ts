// Summarises a V8 .cpuprofile: where the busy time goes, by function (self and total) and by area.
// Usage: node --import tsx test/bench/profile-summary.ts FILE.cpuprofile [TOP]  → Markdown on stdout.

import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface TimeShare {
  readonly name: string;
  readonly ms: number;
  /** Percent of busy time (everything but idle). */
  readonly percent: number;
}

export interface ProfileSummary {
  readonly wallMs: number;
  readonly busyMs: number;
  readonly idleMs: number;
  /** Where the busy time is spent, each sample counted once in the area of its innermost frame. */
  readonly areas: readonly TimeShare[];
  readonly selfTime: readonly TimeShare[];
  /** Time with the function on the stack (callees included), for our code and the libraries. */
  readonly totalTime: readonly TimeShare[];
}

const special = new Set(["(idle)", "(program)", "(garbage collector)", "(root)"]);

function isNative(frame: CallFrame): boolean {
  return frame.url === "" && !special.has(frame.functionName);
}

/** A short place for a frame: node_modules/<package>/file, dist/<path>, node:<module>. */
function place(url: string): string {
  const packageAt = url.lastIndexOf("node_modules/");
  if (packageAt >= 0) return url.slice(packageAt + "node_modules/".length);
  const distAt = url.lastIndexOf("/dist/");
  if (distAt >= 0) return url.slice(distAt + 1);
  return url.replace(/^file:\/\//, "");
}

function packageOf(url: string): string | undefined {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  return match?.[1];
}

/** The area of a JS frame: our code by directory, a library by package, Node core by module. */
function areaOfScript(url: string): string {
  const pkg = packageOf(url);
  const distMatch = pkg === undefined ? /\/dist\/([^/]+)\//.exec(url) : null;
  if (distMatch !== null) return `webhook ${distMatch[1]}/`;
  if (pkg === "pino" || pkg === "sonic-boom" || pkg?.startsWith("pino-") === true)
    return "logging (pino, sonic-boom)";
  if (pkg !== undefined) return pkg;
  if (/^node:(?:_tls|tls|internal\/tls)/.test(url)) return "node TLS";
  if (/^node:(?:_http|http|internal\/http)/.test(url)) return "node HTTP";
  if (/^node:(?:internal\/)?streams?/.test(url) || url.startsWith("node:internal/streams"))
    return "node streams";
  if (/^node:(?:net|internal\/net|internal\/stream_base_commons)/.test(url)) return "node net";
  if (url.startsWith("node:"))
    return `node ${
      url
        .slice(5)
        .replace(/^internal\//, "")
        .split("/")[0]
    }`;
  return "other";
}

/** Natives named by what they do; the rest are charged to the area of the JS that called them. */
function areaOfNative(name: string, callerArea: string): string {
  if (name === "parse") return "JSON.parse";
  if (name === "stringify") return "JSON.stringify";
  if (/^(?:writev|writeBuffer|writeUtf8String|writeLatin1String|writeAsciiString)$/.test(name)) {
    return callerArea === "logging (pino, sonic-boom)"
      ? "logging write(2)"
      : "socket write (TLS encrypt + send)";
  }
  if (name === "onStreamRead" || name === "onread") return "socket read (TLS decrypt)";
  return `${callerArea} (native)`;
}

function share(entries: Map<string, number>, busyMs: number, top: number): TimeShare[] {
  return [...entries]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, micros]) => ({
      name,
      ms: Math.round(micros / 1000),
      percent: Math.round((micros / 1000 / busyMs) * 1000) / 10,
    }));
}

function add(map: Map<string, number>, key: string, micros: number): void {
  map.set(key, (map.get(key) ?? 0) + micros);
}

export interface SummaryOptions {
  /** Rows per table. */
  readonly top?: number;
  /** Only samples taken in this window (monotonic clock, microseconds), e.g. a load run without startup. */
  readonly window?: { readonly fromMicros: number; readonly toMicros: number };
}

export function summariseProfile(profile: CpuProfile, options: SummaryOptions = {}): ProfileSummary {
  const top = options.top ?? 25;
  const from = options.window?.fromMicros ?? Number.NEGATIVE_INFINITY;
  const to = options.window?.toMicros ?? Number.POSITIVE_INFINITY;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const label = (frame: CallFrame): string =>
    isNative(frame) || special.has(frame.functionName)
      ? `${frame.functionName} (native)`
      : `${frame.functionName || "(anonymous)"} ${place(frame.url)}:${frame.lineNumber + 1}`;

  const areas = new Map<string, number>();
  const selfTime = new Map<string, number>();
  const totalTime = new Map<string, number>();
  let idle = 0;
  let busy = 0;
  const { samples, timeDeltas } = profile;
  let at = profile.startTime;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < samples.length; i++) {
    at += timeDeltas[i] ?? 0;
    if (at < from || at > to) continue;
    first = Math.min(first, at);
    last = Math.max(last, at);
    // A sample's weight is the gap to the next sample (the last one gets the gap before it).
    const micros = timeDeltas[i + 1] ?? timeDeltas[i] ?? 0;
    const leaf = byId.get(samples[i] ?? -1);
    if (leaf === undefined) continue;
    const frame = leaf.callFrame;
    if (frame.functionName === "(idle)") {
      idle += micros;
      continue;
    }
    busy += micros;
    add(selfTime, label(frame), micros);

    let callerArea = "other";
    const seen = new Set<string>();
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const node = byId.get(id);
      if (node === undefined) break;
      const callFrame = node.callFrame;
      if (callFrame.url !== "" && callerArea === "other") callerArea = areaOfScript(callFrame.url);
      if (callFrame.url === "" || callFrame.url.startsWith("node:")) continue;
      const key = label(callFrame);
      if (!seen.has(key)) {
        seen.add(key);
        add(totalTime, key, micros);
      }
    }
    if (special.has(frame.functionName)) add(areas, frame.functionName, micros);
    else if (isNative(frame)) add(areas, areaOfNative(frame.functionName, callerArea), micros);
    else add(areas, areaOfScript(frame.url), micros);
  }
  const busyMs = busy / 1000;
  return {
    wallMs: Math.round(Math.max(0, last - first) / 1000),
    busyMs: Math.round(busyMs),
    idleMs: Math.round(idle / 1000),
    areas: share(areas, busyMs, top),
    selfTime: share(selfTime, busyMs, top),
    totalTime: share(totalTime, busyMs, top),
  };
}

export async function summariseProfileFile(path: string, options?: SummaryOptions): Promise<ProfileSummary> {
  return summariseProfile(JSON.parse(await readFile(path, "utf8")) as CpuProfile, options);
}

function table(title: string, rows: readonly TimeShare[]): string {
  const lines = [`| ${title} | ms | % of busy |`, "| --- | ---: | ---: |"];
  for (const row of rows)
    lines.push(`| \`${row.name.replaceAll("|", "\\|")}\` | ${row.ms} | ${row.percent} |`);
  return lines.join("\n");
}

/** The summary as Markdown tables. */
export function profileMarkdown(summary: ProfileSummary): string {
  return [
    `Wall ${summary.wallMs} ms, busy ${summary.busyMs} ms, idle ${summary.idleMs} ms.`,
    "",
    table("Area (self time)", summary.areas),
    "",
    table("Function (self time)", summary.selfTime),
    "",
    table("Function (total time, callees included)", summary.totalTime),
  ].join("\n");
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [file, top = "25"] = process.argv.slice(2);
  if (file === undefined || !(Number(top) > 0)) {
    process.stderr.write("usage: profile-summary.ts FILE.cpuprofile [TOP]\n");
    process.exitCode = 2;
  } else {
    process.stdout.write(`${profileMarkdown(await summariseProfileFile(file, { top: Number(top) }))}\n`);
  }
}
