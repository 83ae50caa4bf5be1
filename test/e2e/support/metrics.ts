// Reads counters and gauges out of the webhook's Prometheus text exposition.

/** The sum of every sample of `name` whose labels include `labels`; 0 when there is none. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const sampleLabels = match[2] ?? "";
    const wanted = Object.entries(labels).every(([key, value]) =>
      sampleLabels.includes(`${key}=${JSON.stringify(value)}`),
    );
    if (wanted) sum += Number(match[3]);
  }
  return sum;
}
