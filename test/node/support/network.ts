// The node's network namespace, as scripts/node-suite.sh made it, which the test runner is already inside.
import { statSync } from "node:fs";

export interface NodeNetwork {
  /** The namespace's name, under /run/netns. */
  netns: string;
  /** The node's address on its veth link: kube-apiserver, kubelet and the registry listen there. */
  nodeIp: string;
}

const howToRun = "run the node suite through `npm run test:node` (scripts/node-suite.sh)";

/**
 * The namespace named by WIW_NODE_NETNS and WIW_NODE_IP, once it is checked that this process runs inside it:
 * a kubelet started anywhere else would take over the host's network.
 */
export function nodeNetwork(): NodeNetwork {
  const netns = process.env.WIW_NODE_NETNS;
  const nodeIp = process.env.WIW_NODE_IP;
  if (netns === undefined || netns === "" || nodeIp === undefined || nodeIp === "")
    throw new Error(`WIW_NODE_NETNS and WIW_NODE_IP are not set: ${howToRun}`);
  const inside = statSync("/proc/self/ns/net").ino;
  let named: number;
  try {
    named = statSync(`/run/netns/${netns}`).ino;
  } catch {
    throw new Error(`network namespace ${netns} (WIW_NODE_NETNS) does not exist: ${howToRun}`);
  }
  if (inside !== named)
    throw new Error(`this process is not inside network namespace ${netns} (WIW_NODE_NETNS): ${howToRun}`);
  return { netns, nodeIp };
}
