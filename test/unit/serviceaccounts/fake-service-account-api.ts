// A ServiceAccountApi in memory: tests set what lists and GETs answer, and drive each watch by hand.

import type {
  ListRequest,
  RawServiceAccount,
  ServiceAccountApi,
  ServiceAccountPage,
  ServiceAccountWatchEvent,
  WatchHandle,
  WatchRequest,
} from "../../../src/serviceaccounts/api.js";

export function serviceAccount(
  namespace: string,
  name: string,
  annotations?: Record<string, string>,
  resourceVersion?: string,
): RawServiceAccount {
  return {
    metadata: {
      namespace,
      name,
      ...(annotations !== undefined ? { annotations } : {}),
      ...(resourceVersion !== undefined ? { resourceVersion } : {}),
    },
  };
}

export class FakeWatch implements WatchHandle {
  aborted = false;
  #done = false;
  readonly request: WatchRequest;
  readonly #onEvent: (event: ServiceAccountWatchEvent) => void;
  readonly #onDone: (error?: Error) => void;

  constructor(
    request: WatchRequest,
    onEvent: (event: ServiceAccountWatchEvent) => void,
    onDone: (error?: Error) => void,
  ) {
    this.request = request;
    this.#onEvent = onEvent;
    this.#onDone = onDone;
  }

  send(event: ServiceAccountWatchEvent): void {
    if (!this.aborted && !this.#done) this.#onEvent(event);
  }

  /** The stream ends: cleanly without an error. */
  end(error?: Error): void {
    if (this.aborted || this.#done) return;
    this.#done = true;
    this.#onDone(error);
  }

  abort(): void {
    this.aborted = true;
  }
}

export class FakeServiceAccountApi implements ServiceAccountApi {
  /** The pages the next list returns; continue tokens are page numbers. */
  pages: RawServiceAccount[][] = [[]];
  resourceVersion = "100";
  /** Errors the next list calls reject with, one each. */
  readonly listFailures: Error[] = [];
  readonly listRequests: ListRequest[] = [];
  /** Answers each GET; by default every ServiceAccount is absent. */
  answerGet: (
    namespace: string,
    name: string,
    signal: AbortSignal,
  ) => Promise<RawServiceAccount | undefined> = async () => undefined;
  readonly getRequests: string[] = [];
  readonly watches: FakeWatch[] = [];

  async list(request: ListRequest): Promise<ServiceAccountPage> {
    this.listRequests.push(request);
    const failure = this.listFailures.shift();
    if (failure !== undefined) throw failure;
    const page = request.continue === undefined ? 0 : Number(request.continue);
    return {
      items: this.pages[page] ?? [],
      resourceVersion: this.resourceVersion,
      continue: page + 1 < this.pages.length ? String(page + 1) : undefined,
    };
  }

  get(namespace: string, name: string, signal: AbortSignal): Promise<RawServiceAccount | undefined> {
    this.getRequests.push(`${namespace}/${name}`);
    return this.answerGet(namespace, name, signal);
  }

  async watch(
    request: WatchRequest,
    onEvent: (event: ServiceAccountWatchEvent) => void,
    onDone: (error?: Error) => void,
  ): Promise<WatchHandle> {
    const watch = new FakeWatch(request, onEvent, onDone);
    this.watches.push(watch);
    return watch;
  }

  /** The most recent watch. */
  get currentWatch(): FakeWatch {
    const watch = this.watches.at(-1);
    if (watch === undefined) throw new Error("no watch was opened");
    return watch;
  }
}
