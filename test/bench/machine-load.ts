// CPU use of the whole machine from /proc/stat, to tell how much of a window went to other processes.

import { readFile } from "node:fs/promises";

const clockTicksPerSecond = 100;

/** CPU seconds all cores have spent busy (everything but idle and iowait) since boot. */
export async function machineBusySeconds(): Promise<number> {
  const stat = await readFile("/proc/stat", "utf8");
  const fields = (/^cpu\s+(.+)$/m.exec(stat)?.[1] ?? "").split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already counted in user).
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return (user + nice + system + irq + softirq + steal) / clockTicksPerSecond;
}
