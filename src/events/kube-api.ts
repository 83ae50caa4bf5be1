// Events over a real API server: one POST per new Event, one merge patch per series count, through src/kube/.

import type { KubeConnection } from "../kube/connection.js";
import { describeStatus, KubeClient } from "../kube/request.js";
import type { EventObject } from "./notice.js";

/** events.k8s.io/v1 reportingController of every Event this webhook writes. */
export const reportingController = "web-identity-webhook";

/** Every API request this client makes, as RBAC rules: the chart's ClusterRole grants exactly this. */
export const requiredPermissions = [
  {
    apiGroup: "events.k8s.io",
    resource: "events",
    verbs: ["create", "patch"],
    scope: "cluster",
    ownObjectOnly: false,
  },
] as const;

export interface EventSeries {
  readonly count: number;
  /** MicroTime. */
  readonly lastObservedTime: string;
}

/** An events.k8s.io/v1 Event as created. */
export interface NewEvent {
  readonly apiVersion: "events.k8s.io/v1";
  readonly kind: "Event";
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly eventTime: string;
  readonly reportingController: string;
  readonly reportingInstance: string;
  readonly action: string;
  readonly reason: string;
  readonly note: string;
  readonly type: "Warning" | "Normal";
  readonly regarding: EventObject;
  readonly related?: EventObject;
  readonly series?: EventSeries;
}

export interface EventApi {
  create(event: NewEvent, signal: AbortSignal): Promise<void>;
  /** Sets the Event's series; false when the Event is gone (404). */
  patchSeries(namespace: string, name: string, series: EventSeries, signal: AbortSignal): Promise<boolean>;
}

/** Needs create and patch on events.k8s.io events in every namespace pods are created in. */
export function createKubeEventApi(connection: KubeConnection): EventApi {
  const client = new KubeClient(connection);
  const eventsPath = (namespace: string) =>
    `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/events`;
  return {
    async create(event, signal) {
      const answer = await client.send({
        method: "POST",
        path: eventsPath(event.metadata.namespace),
        signal,
        body: { contentType: "application/json", text: JSON.stringify(event) },
      });
      if (answer.status !== 201 && answer.status !== 200) {
        throw new Error(
          `create Event ${event.metadata.namespace}/${event.metadata.name}: ${describeStatus(answer.status, answer.body)}`,
        );
      }
    },

    async patchSeries(namespace, name, series, signal) {
      const answer = await client.send({
        method: "PATCH",
        path: `${eventsPath(namespace)}/${encodeURIComponent(name)}`,
        signal,
        body: { contentType: "application/merge-patch+json", text: JSON.stringify({ series }) },
      });
      if (answer.status === 404) return false;
      if (answer.status !== 200)
        throw new Error(`patch Event ${namespace}/${name}: ${describeStatus(answer.status, answer.body)}`);
      return true;
    },
  };
}
