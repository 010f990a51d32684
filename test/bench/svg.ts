// bench/results.svg: propagation time per number of regions, warm (row 1) beside cold (row 8), and the
// floor (row 2's bare server-side apply), so the shape is seen at a glance. Pure: figures in, SVG out.

/** The figures the picture is drawn from; a missing row leaves its part out. */
export interface PictureData {
  /** Warm propagation p50 per number of regions. */
  warm: Array<{ regions: number; ms: number }>;
  /** Cold propagation (a fresh process), where measured. */
  cold: Array<{ regions: number; ms: number }>;
  /** One bare server-side apply: the floor no propagation can beat. */
  floorMs?: number;
}

const W = 640;
const H = 360;
const PAD = { left: 64, right: 16, top: 40, bottom: 48 };

/** The SVG document for `data`. */
export function resultsSvg(data: PictureData): string {
  const regions = [...new Set([...data.warm, ...data.cold].map((p) => p.regions))].sort((a, b) => a - b);
  const top = niceMax(
    Math.max(1, ...data.warm.map((p) => p.ms), ...data.cold.map((p) => p.ms), data.floorMs ?? 0),
  );
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const y = (ms: number) => PAD.top + plotH - (ms / top) * plotH;
  const slot = plotW / Math.max(1, regions.length);
  const bar = Math.min(48, slot / 3);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    '<title>identity-relay: propagation time per number of regions, warm and cold, and the floor</title>',
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">identity-relay: propagation time per number of regions</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const ms = (top / 4) * i;
    parts.push(
      `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(ms)}" y2="${y(ms)}" stroke="#ddd"/>`,
      `<text x="${PAD.left - 6}" y="${y(ms) + 4}" text-anchor="end">${Math.round(ms)}</text>`,
    );
  }
  regions.forEach((r, i) => {
    const center = PAD.left + slot * i + slot / 2;
    const warm = data.warm.find((p) => p.regions === r);
    const cold = data.cold.find((p) => p.regions === r);
    const x0 = cold ? center - bar : center - bar / 2;
    if (warm)
      parts.push(barOf(x0, bar, y(warm.ms), y(0), '#4e79a7', `warm R=${r}: ${Math.round(warm.ms)} ms`));
    if (cold)
      parts.push(
        barOf(warm ? center : x0, bar, y(cold.ms), y(0), '#f28e2b', `cold R=${r}: ${Math.round(cold.ms)} ms`),
      );
    parts.push(`<text x="${center}" y="${H - PAD.bottom + 16}" text-anchor="middle">R = ${r}</text>`);
  });
  if (data.floorMs !== undefined) {
    const fy = y(data.floorMs);
    parts.push(
      `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${fy}" y2="${fy}" stroke="#e15759" stroke-dasharray="6 4"/>`,
      `<text x="${W - PAD.right}" y="${fy - 4}" text-anchor="end" fill="#e15759">floor: one bare server-side apply, ${Math.round(data.floorMs)} ms</text>`,
    );
  }
  parts.push(
    `<text x="16" y="${PAD.top + plotH / 2}" transform="rotate(-90 16 ${PAD.top + plotH / 2})" text-anchor="middle">ms (p50)</text>`,
    `<text x="${W / 2}" y="${H - 12}" text-anchor="middle">regional clusters (R)</text>`,
    legend(PAD.left + 8, PAD.top + 8, '#4e79a7', 'warm'),
    legend(PAD.left + 72, PAD.top + 8, '#f28e2b', 'cold (fresh process)'),
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}

function barOf(x: number, width: number, top: number, bottom: number, fill: string, title: string): string {
  return `<rect x="${round(x)}" y="${round(top)}" width="${round(width)}" height="${round(bottom - top)}" fill="${fill}"><title>${title}</title></rect>`;
}

function legend(x: number, y: number, fill: string, label: string): string {
  return `<rect x="${x}" y="${y}" width="10" height="10" fill="${fill}"/><text x="${x + 14}" y="${y + 9}">${label}</text>`;
}

/** A round axis maximum a little above `value`. */
function niceMax(value: number): number {
  const step = 10 ** Math.floor(Math.log10(value));
  return Math.ceil((value * 1.1) / step) * step;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
