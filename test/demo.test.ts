/**
 * `npm run demo` (scripts/demo.mjs), as the README's quick start runs it: the example host launches
 * the example KV plugin, both under the built agent, and `rpcplugin-telemetry tail` draws one trace
 * from the host's launch to the plugin's stop, the plugin's pino lines under their server spans. The
 * plugin runs on Node, Bun and Deno (the host on the runner's Node).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { REPO_ROOT, type RunResult, runNpm } from './support/runtimes.ts';

function explain(result: RunResult): string {
  return `${result.command}\nexit ${result.exitCode}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

/** The span lines of the one trace: from its header to the first line that is not part of the tree. */
function traceLines(stdout: string): string[] {
  const lines = stdout.split('\n');
  const headers = lines.filter((line) => line.startsWith('── trace '));
  assert.equal(headers.length, 1, `one trace, not ${headers.length}:\n${stdout}`);
  assert.match(headers[0] as string, / · 15 spans · kv-host, kv-plugin · /);
  const start = lines.indexOf(headers[0] as string) + 1;
  const end = lines.findIndex((line, index) => index >= start && !/^(?:rpcplugin|[├└│ ])/.test(line));
  return lines.slice(start, end === -1 ? undefined : end);
}

/** The tree, reduced to indentation, name, service and kind, and the log lines to their message. */
function shape(lines: readonly string[]): string[] {
  return lines.map((line) => {
    const span = /^([│├└─ ]*?)(\S+) +(kv-host|kv-plugin) +(internal|client|server) +│/.exec(line);
    if (span !== null) return `${span[1]?.length ?? 0} ${span[2]} ${span[3]} ${span[4]}`;
    const log = /\+\d+ ms (INFO) +(.+?) {2}name=kv-plugin/.exec(line);
    return log === null ? `? ${line}` : `log ${log[1]} ${log[2]}`;
  });
}

const EXPECTED_TREE = [
  '0 rpcplugin.plugin.launch kv-host internal',
  '3 rpcplugin.plugin.start kv-plugin internal',
  '3 grpc.health.v1.Health/Check kv-host client',
  '6 grpc.health.v1.Health/Check kv-plugin server',
  '3 proto.KV/Put kv-host client',
  '6 proto.KV/Put kv-plugin server',
  'log INFO put',
  '3 proto.KV/Put kv-host client',
  '6 proto.KV/Put kv-plugin server',
  'log INFO put',
  '3 proto.KV/Get kv-host client',
  '6 proto.KV/Get kv-plugin server',
  'log INFO get',
  '3 proto.KV/Watch kv-host client',
  '6 proto.KV/Watch kv-plugin server',
  'log INFO watch',
  '3 plugin.GRPCController/Shutdown kv-host client',
  '6 plugin.GRPCController/Shutdown kv-plugin server',
  'log INFO shutdown requested by the host',
  '3 rpcplugin.plugin.stop kv-plugin internal',
];

describe('npm run demo', { concurrency: 1 }, () => {
  for (const runtime of ['node', 'bun', 'deno']) {
    test(`the plugin on ${runtime}: one trace from launch to stop, the plugin's logs under its spans`, async () => {
      const result = await runNpm('npm', ['run', '--silent', 'demo', '--', '--plugin-runtime', runtime], {
        cwd: REPO_ROOT,
      });
      const stdout = result.stdout.toString('utf8');
      assert.equal(result.exitCode, 0, explain(result));
      assert.equal(result.stderr, '', explain(result));
      assert.match(stdout, /^host │ get greeting = hello$/m);
      assert.match(stdout, /^host │ watch colour = blue \(seq 2\)$/m);
      assert.deepEqual(shape(traceLines(stdout)), EXPECTED_TREE, stdout);
      // Each process's metrics, sent at its exit: the plugin's server calls, the host's client calls.
      assert.match(stdout, /^ {2}server proto\.KV\/Put +2 calls /m, stdout);
      assert.match(stdout, /^ {2}client proto\.KV\/Put +2 calls /m, stdout);
    });
  }

  test('--html writes the report; a wrong option is a usage error', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'demo-'));
    try {
      const report = join(directory, 'report.html');
      const result = await runNpm('npm', ['run', '--silent', 'demo', '--', '--html', report], { cwd: REPO_ROOT });
      assert.equal(result.exitCode, 0, explain(result));
      assert.match(result.stdout.toString('utf8'), new RegExp(`^demo: the HTML report is in ${report}$`, 'm'));
      const html = await readFile(report, 'utf8');
      assert.match(html, /rpcplugin\.plugin\.launch/);
      assert.match(html, /proto\.KV\/Watch/);

      const wrong = await runNpm('npm', ['run', '--silent', 'demo', '--', '--plugin-runtime', 'java'], {
        cwd: REPO_ROOT,
      });
      assert.equal(wrong.exitCode, 2, explain(wrong));
      assert.match(wrong.stderr, /^demo: --plugin-runtime java: use node, bun or deno$/m);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
