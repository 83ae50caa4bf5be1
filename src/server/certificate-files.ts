// Serving --tls-cert/--tls-key: the first load, and reloading when the files change on disk.

import { type FSWatcher, watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Logger } from "pino";
import type { ServingCertificate } from "./tls.js";

export interface CertificateFiles {
  readonly certPath: string;
  readonly keyPath: string;
}

export interface CertificateWatchOptions {
  /** How often the files are read even without a change event (some volumes send none). */
  readonly pollIntervalMs?: number;
  /** Quiet time after a change event before reading, so a cert and key written one after the other arrive together. */
  readonly debounceMs?: number;
}

export interface CertificateWatch {
  /** Reads the files now and installs them if they changed and are a valid pair. */
  check(): Promise<void>;
  stop(): void;
}

const defaultPollIntervalMs = 10_000;
const defaultDebounceMs = 100;

async function readFiles(files: CertificateFiles): Promise<{ certPem: string; keyPem: string } | string> {
  try {
    const [certPem, keyPem] = await Promise.all([
      readFile(files.certPath, "utf8"),
      readFile(files.keyPath, "utf8"),
    ]);
    return { certPem, keyPem };
  } catch (error) {
    const { code, path } = error as NodeJS.ErrnoException;
    return `cannot read ${path ?? "the certificate files"}: ${code ?? (error as Error).message}`;
  }
}

/** Installs the pair in the files; throws an Error naming the files and the problem when they are not a valid pair. */
export async function loadCertificateFiles(
  files: CertificateFiles,
  target: ServingCertificate,
): Promise<void> {
  const read = await readFiles(files);
  const reading =
    typeof read === "string"
      ? { ok: false as const, problem: read }
      : target.install(read.certPem, read.keyPem);
  if (!reading.ok) {
    throw new Error(`--tls-cert ${files.certPath} / --tls-key ${files.keyPath}: ${reading.problem}`);
  }
}

/**
 * Watches the files' directories (a Kubernetes Secret volume swaps a `..data` symlink, which changes no file
 * in place) and polls as a fallback. A changed pair is installed only when both parse and match; otherwise
 * the current certificate stays and the problem is logged once.
 */
export function watchCertificateFiles(
  files: CertificateFiles,
  target: ServingCertificate,
  logger: Logger,
  options: CertificateWatchOptions = {},
): CertificateWatch {
  const debounceMs = options.debounceMs ?? defaultDebounceMs;
  let lastProblem: string | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let debounce: NodeJS.Timeout | undefined;
  let stopped = false;

  async function checkOnce(): Promise<void> {
    const read = await readFiles(files);
    if (stopped) return;
    const current = target.current();
    if (typeof read !== "string" && current?.certPem === read.certPem && current.keyPem === read.keyPem) {
      lastProblem = undefined;
      return;
    }
    const reading =
      typeof read === "string"
        ? { ok: false as const, problem: read }
        : target.install(read.certPem, read.keyPem);
    if (reading.ok) {
      lastProblem = undefined;
      const { serialNumber, validTo, subject } = reading.pair.certificate;
      logger.info({ serialNumber, validTo, subject, certPath: files.certPath }, "serving certificate loaded");
    } else if (reading.problem !== lastProblem) {
      lastProblem = reading.problem;
      logger.error(
        { certPath: files.certPath, keyPath: files.keyPath, problem: reading.problem },
        "serving certificate not reloaded; still serving the previous one",
      );
    }
  }

  // One check at a time; a request during a check runs once more after it, so no change is missed.
  function check(): Promise<void> {
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await checkOnce();
      } while (again && !stopped);
    })().finally(() => {
      running = undefined;
    });
    return running;
  }

  function changed(): void {
    clearTimeout(debounce);
    debounce = setTimeout(() => void check(), debounceMs).unref();
  }

  const watchers: FSWatcher[] = [];
  for (const directory of new Set([dirname(files.certPath), dirname(files.keyPath)])) {
    try {
      const watcher = watch(directory, { persistent: false }, changed);
      watcher.on("error", (error) => {
        logger.warn({ directory, error: error.message }, "certificate directory watch failed; polling only");
        watcher.close();
      });
      watchers.push(watcher);
    } catch (error) {
      logger.warn(
        { directory, error: (error as Error).message },
        "cannot watch certificate directory; polling only",
      );
    }
  }
  const poll = setInterval(() => void check(), options.pollIntervalMs ?? defaultPollIntervalMs);
  poll.unref();

  return {
    check,
    stop() {
      stopped = true;
      clearTimeout(debounce);
      clearInterval(poll);
      for (const watcher of watchers) watcher.close();
    },
  };
}
