// Reading the parts of README.md that tests check against the code: sections, tables and code blocks.

import { readFile } from "node:fs/promises";

/** README.md at the repository root. */
export const readmePath = new URL("../../../README.md", import.meta.url);

export function readReadme(): Promise<string> {
  return readFile(readmePath, "utf8");
}

const fence = /^\s*```/;

/**
 * The lines under a heading (given whole, e.g. "### Metrics"), up to the next heading of the same or a higher
 * level. Lines inside code blocks are never taken for headings (a YAML comment starts with "#" too).
 */
export function readmeSection(readme: string, heading: string): string[] {
  const level = /^#+/.exec(heading)?.[0].length ?? 0;
  const lines = readme.split("\n");
  const start = lines.findIndex((line) => line.trimEnd() === heading);
  if (start < 0) throw new Error(`README.md has no heading ${JSON.stringify(heading)}`);
  const section: string[] = [];
  let inCode = false;
  for (const line of lines.slice(start + 1)) {
    if (fence.test(line)) inCode = !inCode;
    else if (!inCode) {
      const depth = /^(#+) /.exec(line)?.[1]?.length;
      if (depth !== undefined && depth <= level) break;
    }
    section.push(line);
  }
  return section;
}

/** Splits a table line into trimmed cells; `\|` inside a cell is a literal bar. */
function tableCells(line: string): string[] {
  const cells = line
    .trim()
    .replace(/^\|/, "")
    .replace(/\|$/, "")
    .split(/(?<!\\)\|/);
  return cells.map((cell) => cell.trim().replaceAll("\\|", "|"));
}

/** One row of a table: its cells, and its line as written (for messages). */
export interface TableRow {
  readonly cells: readonly string[];
  readonly text: string;
}

/** The rows of the table in `section` whose header cells are exactly `header`. */
export function markdownTable(section: readonly string[], header: readonly string[]): TableRow[] {
  const start = section.findIndex(
    (line) => line.trim().startsWith("|") && tableCells(line).join("\u0000") === header.join("\u0000"),
  );
  if (start < 0) throw new Error(`no table with the header | ${header.join(" | ")} |`);
  const rows: TableRow[] = [];
  for (const line of section.slice(start + 2)) {
    if (!line.trim().startsWith("|")) break;
    const cells = tableCells(line);
    if (cells.length !== header.length) {
      throw new Error(`table row has ${cells.length} cells, not ${header.length}: ${line}`);
    }
    rows.push({ cells, text: line.trim() });
  }
  return rows;
}

/** The contents of every code block in `section` whose info string is `language`. */
export function codeBlocks(section: readonly string[], language: string): string[] {
  const blocks: string[] = [];
  let current: string[] | undefined;
  for (const line of section) {
    if (current === undefined) {
      if (line.trim() === `\`\`\`${language}`) current = [];
    } else if (fence.test(line)) {
      blocks.push(`${current.join("\n")}\n`);
      current = undefined;
    } else current.push(line);
  }
  return blocks;
}
