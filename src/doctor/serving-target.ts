// Where the API server sends admission requests: a webhook's URL, or the ready endpoints behind its Service.

import { isIP } from "node:net";
import type { EndpointSliceInfo, ServicePort, WebhookServiceReference } from "./api.js";

/** The port the API server calls on a Service when clientConfig.service.port is unset. */
export const defaultServicePort = 443;

/** One address to open a connection to. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface UrlTarget {
  readonly endpoint: Endpoint;
  /** The name the API server checks the certificate for; undefined when the URL's host is an IP address. */
  readonly serverName: string | undefined;
  readonly path: string;
}

/** `host:port`, with brackets around an IPv6 address. */
export function formatEndpoint(endpoint: Endpoint): string {
  return isIP(endpoint.host) === 6
    ? `[${endpoint.host}]:${endpoint.port}`
    : `${endpoint.host}:${endpoint.port}`;
}

/** The name the API server expects in the certificate of a Service-backed webhook (and sends as SNI). */
export function serviceServerName(service: WebhookServiceReference): string {
  return `${service.name}.${service.namespace}.svc`;
}

/** A clientConfig.url as a target, or undefined when it is not an https URL. */
export function urlTarget(url: string): UrlTarget | undefined {
  if (!URL.canParse(url)) return undefined;
  const parsed = new URL(url);
  if (parsed.protocol !== "https:") return undefined;
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  return {
    endpoint: { host, port: parsed.port === "" ? 443 : Number(parsed.port) },
    serverName: isIP(host) === 0 ? host : undefined,
    path: `${parsed.pathname}${parsed.search}`,
  };
}

/**
 * The ready endpoints of a Service port, in slice order, without repeats: the first address of each ready
 * endpoint (the others are the same backend) with the port of the slice's entry named like the Service port.
 */
export function readyEndpoints(servicePort: ServicePort, slices: readonly EndpointSliceInfo[]): Endpoint[] {
  const endpoints: Endpoint[] = [];
  const portName = servicePort.name ?? "";
  for (const slice of slices) {
    const port = slice.ports.find((entry) => (entry.name ?? "") === portName)?.port;
    if (port === undefined) continue;
    for (const endpoint of slice.endpoints) {
      const host = endpoint.addresses[0];
      if (endpoint.ready === false || host === undefined) continue;
      if (!endpoints.some((known) => known.host === host && known.port === port))
        endpoints.push({ host, port });
    }
  }
  return endpoints;
}
