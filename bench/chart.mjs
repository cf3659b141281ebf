// The chart of docs/benchmarks.md: the throughput each runtime keeps under instrumentation
// (instrumented / bare), unary and streaming, ours and contrib's, as grouped bars, with lines at 1.0
// (bare) and at 0.85 (the unary target on Node). Hand-written SVG, no dependencies; bench/grpc.mjs
// calls it with its results. Text and lines follow the reader's colour scheme (GitHub shows an SVG
// in an <img>, where prefers-color-scheme applies), and the bar colours read on light and dark.

const SERIES = [
  { kind: 'unary', mode: 'ours', name: 'unary, ours', colour: '#1f6feb' },
  { kind: 'unary', mode: 'contrib', name: 'unary, contrib', colour: '#e16f24' },
  { kind: 'stream', mode: 'ours', name: 'stream, ours', colour: '#54aeff' },
  { kind: 'stream', mode: 'contrib', name: 'stream, contrib', colour: '#f2a65a' },
];
const TARGET = 0.85;

const escapeXml = (text) =>
  String(text).replace(
    /[<>&"']/g,
    (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[char],
  );
const round = (value) => Math.round(value * 10) / 10;

/**
 * `runtimes`: [{ label, note?, unary: { ours, contrib }, stream: { ours, contrib } }], each ratio a
 * number or undefined (not measured, or contrib does not run there: drawn as "n/a").
 * Returns the SVG document as text.
 */
export function throughputChart(runtimes) {
  const bar = 26;
  const gap = 4;
  const groupWidth = SERIES.length * bar + (SERIES.length - 1) * gap;
  const groupGap = 36;
  const left = 56;
  const right = 170; // room for the reference lines' labels
  const top = 64;
  const plotHeight = 240;
  const bottom = 56;
  const legendWidth = SERIES.length * 130;
  const width = Math.max(left + legendWidth + right, left + right + runtimes.length * (groupWidth + groupGap));
  const height = top + plotHeight + bottom;
  const plotRight = width - right;
  const values = runtimes.flatMap((runtime) => SERIES.map((series) => runtime[series.kind]?.[series.mode]));
  const highest = Math.max(1.2, ...values.filter((value) => typeof value === 'number'));
  // A grid line every 0.25 up to 2, coarser above (a noisy run can give a ratio of 5).
  const step = highest <= 2 ? 0.25 : highest <= 4 ? 0.5 : 1;
  const yMax = Math.ceil(highest / step) * step;
  const y = (value) => round(top + plotHeight - (value / yMax) * plotHeight);

  const parts = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="title">`,
    `<title id="title">Throughput kept under instrumentation (instrumented / bare), per runtime</title>`,
    '<style>',
    '  text { font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Helvetica, Arial, sans-serif; font-size: 12px; fill: #1f2328; }',
    '  .small { font-size: 10px; fill: #59636e; }',
    '  .grid { stroke: #d1d9e0; stroke-width: 1; }',
    '  .bare { stroke: #59636e; stroke-width: 1.5; }',
    '  .target { stroke: #cf222e; stroke-width: 1.5; stroke-dasharray: 6 4; }',
    '  .target-label { fill: #cf222e; }',
    // A halo in the page's colour keeps a value readable where a reference line crosses it.
    '  .value { paint-order: stroke; stroke: #ffffff; stroke-width: 3px; }',
    '  @media (prefers-color-scheme: dark) {',
    '    text { fill: #f0f6fc; }',
    '    .small { fill: #9198a1; }',
    '    .grid { stroke: #3d444d; }',
    '    .bare { stroke: #9198a1; }',
    '    .target { stroke: #f85149; }',
    '    .target-label { fill: #f85149; }',
    '    .value { stroke: #0d1117; }',
    '  }',
    '</style>',
    `<text x="${left}" y="20" font-weight="600">Throughput kept under instrumentation (instrumented / bare)</text>`,
  );

  // Legend.
  SERIES.forEach((series, index) => {
    const x = left + index * 130;
    parts.push(
      `<rect class="legend" x="${x}" y="32" width="12" height="12" fill="${series.colour}"/>`,
      `<text x="${x + 17}" y="42">${escapeXml(series.name)}</text>`,
    );
  });

  for (let tick = 0; tick <= yMax + 1e-9; tick += step) {
    parts.push(
      `<line class="grid" x1="${left}" x2="${plotRight}" y1="${y(tick)}" y2="${y(tick)}"/>`,
      `<text class="small" x="${left - 6}" y="${y(tick) + 3}" text-anchor="end">${tick.toFixed(2)}</text>`,
    );
  }

  // The reference lines, labelled right of the plot; bars and their values are drawn over them.
  parts.push(
    `<line class="bare" x1="${left}" x2="${plotRight}" y1="${y(1)}" y2="${y(1)}"/>`,
    `<text class="small" x="${plotRight + 6}" y="${y(1) + 3}">1.0 = bare</text>`,
    `<line class="target" x1="${left}" x2="${plotRight}" y1="${y(TARGET)}" y2="${y(TARGET)}"/>`,
    // Below the bare line's label, however close the two lines are.
    `<text class="small target-label" x="${plotRight + 6}" y="${Math.max(y(TARGET) + 3, y(1) + 15)}">${TARGET} = unary target, Node</text>`,
  );

  runtimes.forEach((runtime, groupIndex) => {
    const groupX = left + groupGap / 2 + groupIndex * (groupWidth + groupGap);
    SERIES.forEach((series, index) => {
      const x = groupX + index * (bar + gap);
      const value = runtime[series.kind]?.[series.mode];
      if (typeof value === 'number') {
        parts.push(
          `<rect class="bar" x="${x}" y="${y(value)}" width="${bar}" height="${round(y(0) - y(value))}" fill="${series.colour}"><title>${escapeXml(`${runtime.label}, ${series.name}: ${value.toFixed(2)}`)}</title></rect>`,
          `<text class="small value" x="${x + bar / 2}" y="${y(value) - 4}" text-anchor="middle">${value.toFixed(2)}</text>`,
        );
      } else {
        parts.push(`<text class="small" x="${x + bar / 2}" y="${y(0) - 4}" text-anchor="middle">n/a</text>`);
      }
    });
    const middle = groupX + groupWidth / 2;
    parts.push(`<text x="${middle}" y="${y(0) + 18}" text-anchor="middle">${escapeXml(runtime.label)}</text>`);
    if (runtime.note) {
      parts.push(
        `<text class="small" x="${middle}" y="${y(0) + 32}" text-anchor="middle">${escapeXml(runtime.note)}</text>`,
      );
    }
  });

  parts.push(`<line class="grid" x1="${left}" x2="${left}" y1="${top}" y2="${y(0)}"/>`, '</svg>');
  return `${parts.join('\n')}\n`;
}
