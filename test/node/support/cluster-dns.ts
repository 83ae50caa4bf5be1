// The node's cluster DNS: <service>.<namespace>.svc.cluster.local resolves to the Service's ClusterIP, as CoreDNS's
// kubernetes plugin answers it. A stand-in (CoreDNS has no Debian package and no image can be pulled here) that
// reads each Service from the API server when asked, over UDP, A and AAAA only; anything outside cluster.local
// is refused (nothing outside the node's network namespace is reachable anyway).
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { type KubeClient, KubeRequestError } from "../../e2e/cluster/kube.js";

export const clusterDomain = "cluster.local";

export interface ClusterDns {
  address: string;
  /** Queries answered so far, by outcome, for diagnostics. */
  answered(): Record<Rcode, number>;
  stop(): Promise<void>;
}

type Rcode = "noerror" | "nxdomain" | "refused" | "servfail";
const rcodes: Record<Rcode, number> = { noerror: 0, servfail: 2, nxdomain: 3, refused: 5 };
const typeA = 1;
const classIn = 1;
const ttlSeconds = 5;

interface Question {
  name: string;
  type: number;
  /** Offset just past the question, where answers go. */
  end: number;
}

/** The first question of a query, or undefined when the packet is not one we can read. */
function question(packet: Buffer): Question | undefined {
  if (packet.length < 12 || packet.readUInt16BE(4) < 1) return undefined;
  const labels: string[] = [];
  let offset = 12;
  for (;;) {
    const length = packet[offset];
    if (length === undefined || length > 63) return undefined;
    offset += 1;
    if (length === 0) break;
    labels.push(packet.toString("latin1", offset, offset + length).toLowerCase());
    offset += length;
  }
  if (offset + 4 > packet.length) return undefined;
  return { name: labels.join("."), type: packet.readUInt16BE(offset), end: offset + 4 };
}

function reply(query: Buffer, asked: Question, rcode: Rcode, ipv4?: string): Buffer {
  const header = Buffer.from(query.subarray(0, asked.end));
  const recursionDesired = query.readUInt16BE(2) & 0x0100;
  // QR, opcode QUERY, AA (authoritative for the cluster domain), RD as asked, RA off.
  header.writeUInt16BE(0x8400 | recursionDesired | rcodes[rcode], 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(ipv4 === undefined ? 0 : 1, 6);
  header.writeUInt32BE(0, 8);
  if (ipv4 === undefined) return header;
  const answer = Buffer.alloc(16);
  answer.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
  answer.writeUInt16BE(typeA, 2);
  answer.writeUInt16BE(classIn, 4);
  answer.writeUInt32BE(ttlSeconds, 6);
  answer.writeUInt16BE(4, 10);
  ipv4.split(".").forEach((octet, index) => {
    answer.writeUInt8(Number(octet), 12 + index);
  });
  return Buffer.concat([header, answer]);
}

/** The ClusterIP of a Service name, null for a name of the cluster domain that names none, undefined outside it. */
async function resolve(client: KubeClient, name: string): Promise<string | null | undefined> {
  if (name !== clusterDomain && !name.endsWith(`.${clusterDomain}`)) return undefined;
  const parts = name.split(".");
  if (parts.length !== 5 || parts[2] !== "svc") return null;
  const [service, namespace] = parts;
  try {
    const found = await client.request<{ spec: { clusterIP?: string } }>(
      "GET",
      `/api/v1/namespaces/${namespace}/services/${service}`,
    );
    const ip = found.spec.clusterIP;
    return ip === undefined || ip === "None" ? null : ip;
  } catch (error) {
    if (error instanceof KubeRequestError && error.status === 404) return null;
    throw error;
  }
}

/** Answers DNS queries on address:53 (UDP) from the Services the API server holds. */
export async function startClusterDns(client: KubeClient, address: string): Promise<ClusterDns> {
  const counts: Record<Rcode, number> = { noerror: 0, nxdomain: 0, refused: 0, servfail: 0 };
  const socket: Socket = createSocket("udp4");
  const answer = async (packet: Buffer, from: RemoteInfo): Promise<void> => {
    const asked = question(packet);
    if (asked === undefined) return;
    let response: Buffer;
    try {
      const ip = await resolve(client, asked.name);
      if (ip === undefined) response = reply(packet, asked, "refused");
      else if (ip === null) response = reply(packet, asked, "nxdomain");
      // A Service has no IPv6 address here: the name exists, with no AAAA record.
      else response = reply(packet, asked, "noerror", asked.type === typeA ? ip : undefined);
    } catch {
      response = reply(packet, asked, "servfail");
    }
    const rcode = (Object.keys(rcodes) as Rcode[]).find(
      (r) => rcodes[r] === (response.readUInt16BE(2) & 0xf),
    );
    if (rcode !== undefined) counts[rcode] += 1;
    socket.send(response, from.port, from.address);
  };
  socket.on("message", (packet, from) => {
    void answer(packet, from);
  });
  await new Promise<void>((resolveBind, reject) => {
    socket.once("error", reject);
    socket.bind(53, address, () => {
      socket.off("error", reject);
      resolveBind();
    });
  });
  return {
    address,
    answered: () => ({ ...counts }),
    stop: () => new Promise((resolveClose) => socket.close(() => resolveClose())),
  };
}
