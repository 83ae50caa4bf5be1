// The latency chart: p50, p99 and p99.9 against offered rate, as hand-built SVG text (log-scale y).

export interface LatencyPoint {
  readonly offeredRate: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
}

const width = 640;
const height = 400;
const margin = { left: 64, right: 140, top: 40, bottom: 56 };
const series = [
  { key: "p50", label: "p50", color: "#2563eb" },
  { key: "p99", label: "p99", color: "#d97706" },
  { key: "p999", label: "p99.9", color: "#dc2626" },
] as const;

function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** An SVG document; `targetMs` draws a dashed goal line (e.g. p99 < 2 ms). */
export function latencyChart(points: readonly LatencyPoint[], title: string, targetMs?: number): string {
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const values = points.flatMap((p) => [p.p50, p.p99, p.p999]).filter((v) => v > 0);
  if (targetMs !== undefined) values.push(targetMs);
  const low = 10 ** Math.floor(Math.log10(Math.min(...values, 1)));
  const high = 10 ** Math.ceil(Math.log10(Math.max(...values, 1) * 1.01));
  const y = (ms: number): number =>
    margin.top +
    plotH -
    ((Math.log10(Math.max(ms, low)) - Math.log10(low)) / (Math.log10(high) - Math.log10(low))) * plotH;
  // Offered rates are few and far apart: evenly spaced, labelled with their value.
  const x = (index: number): number =>
    margin.left + (points.length <= 1 ? plotW / 2 : (index / (points.length - 1)) * plotW);

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${margin.left}" y="22" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  for (let decade = low; decade <= high * 1.0001; decade *= 10) {
    for (const step of [1, 2, 5]) {
      const ms = decade * step;
      if (ms > high * 1.0001) break;
      const gy = y(ms).toFixed(1);
      parts.push(
        `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${gy}" y2="${gy}" stroke="#e5e7eb"/>`,
        `<text x="${margin.left - 8}" y="${gy}" text-anchor="end" dominant-baseline="middle">${Number(ms.toPrecision(3))}</text>`,
      );
    }
  }
  points.forEach((point, index) => {
    const gx = x(index).toFixed(1);
    parts.push(
      `<line x1="${gx}" x2="${gx}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#f3f4f6"/>`,
      `<text x="${gx}" y="${margin.top + plotH + 18}" text-anchor="middle">${point.offeredRate.toLocaleString("en-US")}/s</text>`,
    );
  });
  parts.push(
    `<text x="${margin.left + plotW / 2}" y="${height - 12}" text-anchor="middle">offered rate (reviews/s, open loop)</text>`,
    `<text transform="translate(16 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">latency (ms, log scale)</text>`,
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#9ca3af"/>`,
  );
  if (targetMs !== undefined) {
    const ty = y(targetMs).toFixed(1);
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${ty}" y2="${ty}" stroke="#6b7280" stroke-dasharray="6 4"/>`,
      `<text x="${margin.left + plotW + 8}" y="${ty}" dominant-baseline="middle" fill="#6b7280">p99 goal ${targetMs} ms</text>`,
    );
  }
  series.forEach((line, row) => {
    const coordinates = points.map(
      (point, index) => `${x(index).toFixed(1)},${y(point[line.key]).toFixed(1)}`,
    );
    parts.push(
      `<polyline points="${coordinates.join(" ")}" fill="none" stroke="${line.color}" stroke-width="2"/>`,
    );
    for (const [index, point] of points.entries()) {
      parts.push(
        `<circle cx="${x(index).toFixed(1)}" cy="${y(point[line.key]).toFixed(1)}" r="3.5" fill="${line.color}"><title>${line.label} at ${point.offeredRate}/s: ${point[line.key]} ms</title></circle>`,
      );
    }
    const ly = margin.top + 16 + row * 20;
    parts.push(
      `<line x1="${margin.left + plotW + 8}" x2="${margin.left + plotW + 28}" y1="${ly}" y2="${ly}" stroke="${line.color}" stroke-width="2"/>`,
      `<text x="${margin.left + plotW + 34}" y="${ly}" dominant-baseline="middle">${line.label}</text>`,
    );
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
