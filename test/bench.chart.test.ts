import assert from 'node:assert/strict';
import { test } from 'node:test';
import { throughputChart } from '../bench/chart.mjs';

/**
 * A well-formedness check for the chart's XML: every tag closed in order, attributes quoted, text
 * escaped. Returns the elements by name, each with its attributes.
 */
function parseXml(text: string): Map<string, Record<string, string>[]> {
  const elements = new Map<string, Record<string, string>[]>();
  const open: string[] = [];
  const token =
    /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<&]*(?:&(?:lt|gt|amp|quot|apos);[^"<&]*)*")*)\s*(\/?)>|([^<]+)/gy;
  let match: RegExpExecArray | null;
  let consumed = 0;
  for (;;) {
    match = token.exec(text);
    if (match === null) break;
    consumed = token.lastIndex;
    const [, closing, name, attributes, selfClosing, textContent] = match;
    if (textContent !== undefined) {
      assert.doesNotMatch(textContent, /&(?!(lt|gt|amp|quot|apos);)/, `unescaped & in ${JSON.stringify(textContent)}`);
      continue;
    }
    assert.ok(name);
    if (closing) {
      assert.equal(open.pop(), name, `</${name}> closes another element`);
      continue;
    }
    const attrs = Object.fromEntries([...(attributes ?? '').matchAll(/([\w:-]+)="([^"]*)"/g)].map((a) => [a[1], a[2]]));
    elements.set(name, [...(elements.get(name) ?? []), attrs as Record<string, string>]);
    if (!selfClosing) open.push(name);
  }
  assert.equal(consumed, text.length, `not XML from offset ${consumed}: ${text.slice(consumed, consumed + 60)}`);
  assert.deepEqual(open, [], 'every element is closed');
  return elements;
}

const runtimes = [
  { label: 'Node.js 24.21.0', unary: { ours: 0.9, contrib: 0.6 }, stream: { ours: 1.1, contrib: 0.7 } },
  { label: 'Bun <1.4 & co>', note: 'contrib: see table', unary: { ours: 0.6 }, stream: { ours: 0.8 } },
];

test('the throughput chart is one well-formed SVG document with a bar per figure and "n/a" where there is none', () => {
  const svg = throughputChart(runtimes);
  const elements = parseXml(svg.trim());
  assert.equal(elements.get('svg')?.length, 1);
  assert.equal(elements.get('svg')?.[0]?.xmlns, 'http://www.w3.org/2000/svg');
  const bars = elements.get('rect')?.filter((rect) => rect.class === 'bar') ?? [];
  assert.equal(bars.length, 6, 'four bars for Node, two for Bun');
  assert.equal(svg.match(/>n\/a</g)?.length, 2, "Bun's two contrib figures");
  assert.match(svg, /Bun &lt;1\.4 &amp; co&gt;/);
  assert.equal(elements.get('rect')?.filter((rect) => rect.class === 'legend').length, 4);
});

test('the chart draws bars to scale against its lines at 1.0 (bare) and 0.85 (the unary target)', () => {
  const elements = parseXml(throughputChart(runtimes).trim());
  const lines = elements.get('line') ?? [];
  const bareLine = Number(lines.find((line) => line.class === 'bare')?.y1);
  const targetLine = Number(lines.find((line) => line.class === 'target')?.y1);
  const bars = (elements.get('rect') ?? []).filter((rect) => rect.class === 'bar');
  const baseline = Number(bars[0]?.y) + Number(bars[0]?.height);
  const heightOf = (ratio: number) => (baseline - bareLine) * ratio;
  assert.ok(Math.abs(baseline - targetLine - heightOf(0.85)) < 0.2, 'the target line at 0.85 of the bare line');
  for (const [index, ratio] of [0.9, 0.6, 1.1, 0.7, 0.6, 0.8].entries()) {
    assert.ok(Math.abs(Number(bars[index]?.height) - heightOf(ratio)) < 0.2, `bar ${index} is ${ratio} of bare`);
  }
});
