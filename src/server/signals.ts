// SIGTERM/SIGINT → a graceful shutdown and an exit code; the process is passed in so tests can send the signals.

import type { Logger } from "pino";

/** The slice of `process` the handler uses. */
export interface SignalEmitter {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  removeListener(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

export interface ShutdownSignalOptions {
  readonly logger: Logger;
  /** Called once with 0 after a clean shutdown, 1 after a failed one or a second signal. */
  readonly exit: (code: number) => void;
  /** --shutdown-timeout: the shutdown should finish by then; exit(1) follows if it hangs past it by a second. */
  readonly shutdownTimeoutMs: number;
  readonly signals?: readonly NodeJS.Signals[];
  readonly process?: SignalEmitter;
}

const backstopSlackMs = 1000;

/**
 * On the first signal runs `shutdown` (stop accepting, finish in-flight reviews, close) and exits 0;
 * a second signal exits 1 at once. Returns the function that removes the listeners.
 */
export function exitOnShutdownSignal(
  shutdown: () => Promise<void>,
  options: ShutdownSignalOptions,
): () => void {
  const emitter = options.process ?? process;
  const signals = options.signals ?? ["SIGTERM", "SIGINT"];
  const { logger, exit } = options;
  let shuttingDown = false;
  let exited = false;
  const exitOnce = (code: number) => {
    if (exited) return;
    exited = true;
    exit(code);
  };

  const listener = (signal: NodeJS.Signals) => {
    if (shuttingDown) {
      logger.warn({ signal }, "second signal during shutdown; exiting now");
      exitOnce(1);
      return;
    }
    shuttingDown = true;
    logger.info(
      { signal, shutdownTimeoutMs: options.shutdownTimeoutMs },
      "shutting down: finishing in-flight reviews",
    );
    const backstop = setTimeout(() => {
      logger.error(
        { shutdownTimeoutMs: options.shutdownTimeoutMs },
        "shutdown did not finish in time; exiting",
      );
      exitOnce(1);
    }, options.shutdownTimeoutMs + backstopSlackMs);
    backstop.unref();
    shutdown().then(
      () => {
        clearTimeout(backstop);
        logger.info("shut down");
        exitOnce(0);
      },
      (error: unknown) => {
        clearTimeout(backstop);
        logger.error({ error: error instanceof Error ? error.message : String(error) }, "shutdown failed");
        exitOnce(1);
      },
    );
  };
  for (const signal of signals) emitter.on(signal, listener);
  return () => {
    for (const signal of signals) emitter.removeListener(signal, listener);
  };
}
