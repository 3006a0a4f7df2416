// A line chart as SVG text: log₂ x axis (T doubles), linear or log₁₀ y axis, one polyline
// and marker per series, a legend. Small enough not to need a charting library.

const COLORS = [
  '#d62728',
  '#ff7f0e',
  '#1f77b4',
  '#2ca02c',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
  '#393b79',
  '#637939',
  '#843c39',
  '#7b4173',
];
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * @param {{ title: string, series: { name: string, highlight?: boolean, points: [number, number][] }[],
 *   xLabel: string, yLabel: string, logY?: boolean }} o
 */
export function lineChart({ title, series, xLabel, yLabel, logY = false }) {
  const [W, H] = [840, 420];
  const pad = { l: 70, r: 330, t: 40, b: 50 };
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => x > 0 && y > 0);
  if (pts.length === 0)
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="80"><text x="10" y="40">${esc(title)}: no data</text></svg>\n`;
  const fx = Math.log2;
  const fy = logY ? Math.log10 : (v) => v;
  const [x0, x1] = [Math.min(...pts.map((p) => fx(p[0]))), Math.max(...pts.map((p) => fx(p[0])))];
  let [y0, y1] = [Math.min(...pts.map((p) => fy(p[1]))), Math.max(...pts.map((p) => fy(p[1])))];
  if (logY) [y0, y1] = [Math.floor(y0), Math.ceil(y1)];
  else [y0, y1] = [0, y1 * 1.05];
  if (y1 === y0) y1 = y0 + 1;
  const px = (x) => pad.l + ((fx(x) - x0) / Math.max(1e-9, x1 - x0)) * (W - pad.l - pad.r);
  const py = (y) => H - pad.b - ((fy(y) - y0) / (y1 - y0)) * (H - pad.t - pad.b);
  const xs = [...new Set(pts.map((p) => p[0]))].sort((a, b) => a - b);
  const yTicks = logY
    ? Array.from({ length: y1 - y0 + 1 }, (_, i) => 10 ** (y0 + i))
    : Array.from({ length: 6 }, (_, i) => (y1 * i) / 5);
  const fmtX = (x) => (x >= 1024 ? `${x / 1024}k` : `${x}`);
  const fmtY = (y) => (y >= 1000 ? `${+(y / 1000).toPrecision(3)}k` : `${+y.toPrecision(3)}`);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${pad.l}" y="22" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  for (const y of yTicks) {
    const v = py(y);
    out.push(`<line x1="${pad.l}" x2="${W - pad.r}" y1="${v}" y2="${v}" stroke="#ddd"/>`);
    out.push(`<text x="${pad.l - 6}" y="${v + 4}" text-anchor="end">${fmtY(y)}</text>`);
  }
  for (const x of xs) {
    const v = px(x);
    out.push(`<line x1="${v}" x2="${v}" y1="${pad.t}" y2="${H - pad.b}" stroke="#eee"/>`);
    out.push(`<text x="${v}" y="${H - pad.b + 16}" text-anchor="middle">${fmtX(x)}</text>`);
  }
  out.push(
    `<text x="${(pad.l + W - pad.r) / 2}" y="${H - 12}" text-anchor="middle">${esc(xLabel)}</text>`,
  );
  out.push(
    `<text x="16" y="${(pad.t + H - pad.b) / 2}" transform="rotate(-90 16 ${(pad.t + H - pad.b) / 2})" text-anchor="middle">${esc(yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const w = s.highlight ? 3 : 1.5;
    const p = s.points.filter(([x, y]) => x > 0 && y > 0).sort((a, b) => a[0] - b[0]);
    if (p.length > 1)
      out.push(
        `<polyline fill="none" stroke="${c}" stroke-width="${w}" points="${p.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`,
      );
    for (const [x, y] of p)
      out.push(
        `<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="${s.highlight ? 4 : 3}" fill="${c}"/>`,
      );
    const ly = pad.t + 8 + i * 18;
    out.push(
      `<line x1="${W - pad.r + 16}" x2="${W - pad.r + 36}" y1="${ly}" y2="${ly}" stroke="${c}" stroke-width="${w}"/>`,
    );
    out.push(
      `<text x="${W - pad.r + 42}" y="${ly + 4}"${s.highlight ? ' font-weight="bold"' : ''}>${esc(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
