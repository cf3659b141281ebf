/**
 * `tail --html FILE` writes a self-contained report when it stops, and a real browser renders it:
 * Debian's headless Chromium opens the file, dumps the DOM it built and takes a screenshot. The
 * report is made from the example host and KV plugin under the agent. Without Chromium the suite is
 * skipped, except in CI, where .ci/run installs it and its absence fails the build.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { cleanPath, type RunResult, spawnCollect } from './support/runtimes.ts';
import { runDemo, startTail, tailEndpoint } from './support/tail-cli.ts';

const CHROMIUM = cleanPath()
  .split(delimiter)
  .filter((dir) => dir !== '')
  .map((dir) => join(dir, 'chromium'))
  .find((path) => existsSync(path));

const INSTALL = 'apt-get install chromium (what .ci/run does)';
// In CI the browser is installed by .ci/run: its absence fails the build instead of hiding it.
const skip =
  CHROMIUM === undefined && process.env.CI !== 'true' ? `chromium is not installed; to run: ${INSTALL}` : false;

const work = mkdtempSync(join(tmpdir(), 'rpcplugin-telemetry-html-'));
after(() => rmSync(work, { recursive: true, force: true }));

function explain(...results: RunResult[]): string {
  return results
    .map((r) => `${r.command}\nexit ${r.exitCode}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`)
    .join('\n\n');
}

/** Headless Chromium on `file` with `flags`; its own profile directory, no sandbox (root in containers). */
function chromium(flags: readonly string[], file: string): Promise<RunResult> {
  assert.ok(CHROMIUM, `chromium is not installed; ${INSTALL}`);
  const profile = mkdtempSync(join(work, 'profile-'));
  return spawnCollect(
    CHROMIUM,
    ['--headless', '--no-sandbox', '--disable-gpu', `--user-data-dir=${profile}`, ...flags, pathToFileURL(file).href],
    { timeoutMs: 90_000, env: { HOME: work } },
  );
}

/** The attributes of each element of `tag` with class `className`, in document order. */
function elements(dom: string, tag: string, className: string): Record<string, string>[] {
  const found: Record<string, string>[] = [];
  const open = new RegExp(`<${tag}\\b([^>]*)>`, 'g');
  for (const match of dom.matchAll(open)) {
    const attributes: Record<string, string> = {};
    for (const [, name, value] of (match[1] ?? '').matchAll(/([\w-]+)="([^"]*)"/g))
      attributes[name as string] = value as string;
    if ((attributes.class ?? '').split(' ').includes(className)) {
      found.push({
        ...attributes,
        index: String(match.index),
        text: dom.slice(match.index, dom.indexOf(`</${tag}>`, match.index)),
      });
    }
  }
  return found;
}

describe('tail --html: a self-contained report that a real browser renders', { skip }, () => {
  test('waterfalls with nested spans and their logs, a latency histogram per RPC method, the log records', async () => {
    const report = join(work, 'report.html');
    const tail = await startTail(['--html', report]);
    const demo = await runDemo('node20', tailEndpoint(tail.port));
    const result = await tail.stop();
    const context = explain(demo, result);
    assert.equal(demo.exitCode, 0, context);
    assert.equal(result.exitCode, 0, context);
    assert.match(
      result.stderr,
      new RegExp(`^rpcplugin-telemetry: tail: wrote the HTML report to ${report} \\(\\d+ traces\\)$`, 'm'),
    );

    const html = readFileSync(report, 'utf8');
    assert.doesNotMatch(html, /<(?:script|link|img|iframe|object|embed)\b/i, 'no external or scripted content');
    assert.doesNotMatch(html, /\burl\(|@import|https?:\/\//i, 'no external assets');

    const dump = await chromium(['--dump-dom'], report);
    assert.equal(dump.exitCode, 0, explain(dump));
    const dom = dump.stdout.toString('utf8');
    assert.match(dom, /<title>rpcplugin-telemetry tail report<\/title>/);

    const spans = elements(dom, 'li', 'span');
    const client = spans.find((span) => span.text?.includes('>proto.KV/Get<') && span.text.includes('>kv-host<'));
    const server = spans.find((span) => span.text?.includes('>proto.KV/Get<') && span.text.includes('>kv-plugin<'));
    assert.ok(client && server, dom);
    assert.equal(server['data-parent-span-id'], client['data-span-id'], 'the server span nests under the client span');
    assert.equal(Number(server['data-depth']), Number(client['data-depth']) + 1);
    assert.ok(Number(server.index) > Number(client.index), 'the child comes after its parent');
    assert.match(client.text ?? '', /class="bar" style="left:0\.000%;width:100\.000%"/);
    assert.match(server.text ?? '', /class="duration">\d+(?:\.\d+)? (?:µs|ms)</);

    const logs = elements(dom, 'li', 'log');
    const getLog = logs.find((log) => log['data-span-id'] === server['data-span-id']);
    assert.ok(getLog, 'the plugin log line is under its server span');
    assert.match(getLog.text ?? '', /get <span class="attrs-inline">name=kv-plugin key=greeting found=true/);

    const histograms = elements(dom, 'svg', 'histogram');
    const methods = histograms.map((svg) => svg['data-method']);
    assert.ok(methods.includes('proto.KV/Get (client, kv-host)'), methods.join('\n'));
    assert.ok(methods.includes('proto.KV/Put (server, kv-plugin)'), methods.join('\n'));
    const putServer = histograms.find((svg) => svg['data-method'] === 'proto.KV/Put (server, kv-plugin)');
    const counts = [...(putServer?.text ?? '').matchAll(/data-count="(\d+)"/g)].map((match) => Number(match[1]));
    assert.equal(
      counts.reduce((sum, count) => sum + count, 0),
      2,
      'two Put calls',
    );

    assert.match(
      dom,
      /<tr class="log-record"><td>[^<]+<\/td><td>kv-plugin<\/td><td>info<\/td><td>plugin stopped<\/td>/,
    );

    const screenshot = join(work, 'report.png');
    const shot = await chromium([`--screenshot=${screenshot}`, '--window-size=1280,1600', '--hide-scrollbars'], report);
    assert.equal(shot.exitCode, 0, explain(shot));
    const png = readFileSync(screenshot);
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
    // IHDR: width and height, big-endian, at bytes 16 and 20.
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [1280, 1600]);
    assert.ok(png.length > 20_000, `a page with content, not a blank one (${png.length} bytes)`);
  });
});
