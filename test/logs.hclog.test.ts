/**
 * RPCPLUGIN_LOG_FORMAT=hclog, end to end on every AGENT_RUNS row with the oldest and the newest
 * supported pino major: the app's pino writes hclog JSON lines, the shape a go-plugin host parses on
 * its plugin's stderr (hashicorp/go-plugin 1.0.1 log_entry.go parseJSON: `@level` a level name hclog
 * knows, `@message` a string, `@timestamp` with six fractional digits, the other keys as arguments).
 * Each line is asserted whole. The records exported through the logs pipeline are still read from
 * pino's own line (their severity and exception attributes). examples.go-host.test.ts shows a real
 * Go host logging these lines at their level.
 */
import assert from 'node:assert/strict';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from './support/otlp-receiver.ts';
import { AGENT_RUNS, fixture, REPO_ROOT, runApp } from './support/runtimes.ts';

const PINO_PACKAGES = ['pino8', 'pino'] as const;

function versionOf(pkg: string): string {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
}

const dirs = new Map<string, string>();

/** The fixture's files beside a node_modules whose pino is `pkg`. */
function makeAppDir(pkg: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'rpcplugin-telemetry-hclog-'));
  for (const file of readdirSync(fixture('logs')).filter((name) => name.startsWith('hclog-'))) {
    copyFileSync(join(fixture('logs'), file), join(dir, file));
  }
  mkdirSync(join(dir, 'node_modules', '@opentelemetry'), { recursive: true });
  symlinkSync(join(REPO_ROOT, 'node_modules', pkg), join(dir, 'node_modules', 'pino'), 'dir');
  symlinkSync(
    join(REPO_ROOT, 'node_modules', '@opentelemetry', 'api'),
    join(dir, 'node_modules', '@opentelemetry', 'api'),
    'dir',
  );
  const dependencies = { pino: versionOf(pkg), '@opentelemetry/api': versionOf('@opentelemetry/api') };
  // Deno resolves bare specifiers from node_modules when a package.json lists them.
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'hclog-fixture', private: true, dependencies }));
  return dir;
}

let receiver: OtlpReceiver;
before(async () => {
  receiver = await startOtlpReceiver();
  for (const pkg of PINO_PACKAGES) dirs.set(pkg, makeAppDir(pkg));
});
after(async () => {
  await receiver.close();
  for (const dir of dirs.values()) rmSync(dir, { recursive: true, force: true });
});

/** hclog's JSON time layout, 2006-01-02T15:04:05.000000Z07:00, in UTC. */
const TIMESTAMP = /"@timestamp":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)"/;

/** Each line as it must be written, its timestamp taken out; `{trace}` and `{span}` stand for the span's ids. */
const EXPECTED = [
  '{"@level":"info","@message":"outside span","@module":"kv-plugin"}',
  '{"@level":"trace","@message":"trace level","@module":"kv-plugin",{span}}',
  '{"@level":"trace","@message":"custom verbose","@module":"kv-plugin",{span}}',
  '{"@level":"debug","@message":"debug level","@module":"kv-plugin",{span}}',
  '{"@level":"info","@message":"info level","@module":"kv-plugin",{span},"key":"k1","count":2,"nested":{"a":true}}',
  '{"@level":"info","@message":"custom notice","@module":"kv-plugin",{span}}',
  '{"@level":"warn","@message":"warn level","@module":"kv-plugin",{span}}',
  '{"@level":"error","@message":"error level","@module":"kv-plugin","error":"boom",{span}}',
  '{"@level":"error","@message":"fatal level","@module":"kv-plugin",{span}}',
  '{"@level":"info","@message":"from grandchild","@module":"kv-plugin","component":"kv","op":"get",{span}}',
  '{"@level":"info","@message":"","@module":"kv-plugin",{span},"only":"fields"}',
  '{"@level":"info","@message":"app error field","@module":"kv-plugin",{span},"error":"a field of the app"}',
  '{"@level":"info","@message":"no name",{span}}',
  '{"@level":"error","@message":"own keys","@module":"own-keys","error":"boom",{span}}',
];

function expectedLines(span: ReceivedSpan): string[] {
  const correlation = `"trace_id":"${span.traceId}","span_id":"${span.spanId}","trace_flags":"01"`;
  return EXPECTED.map((line) => line.replace('{span}', correlation));
}

describe('RPCPLUGIN_LOG_FORMAT=hclog', { concurrency: 2 }, () => {
  for (const run of AGENT_RUNS) {
    for (const pkg of PINO_PACKAGES) {
      test(`${run.runtime} ${run.loader.name} (${run.format}), pino ${versionOf(pkg)}: every line in hclog's JSON shape`, async () => {
        const dir = dirs.get(pkg) as string;
        const startedMs = Date.now();
        let pid: number | undefined;
        const result = await runApp({
          runtime: run.runtime,
          loader: run.loader,
          script: join(dir, `hclog-app.${run.format === 'cjs' ? 'cjs' : 'mjs'}`),
          cwd: dir,
          onSpawn: (child) => {
            pid = child.pid;
          },
          env: {
            RPCPLUGIN_LOG_FORMAT: 'hclog',
            OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
            OTEL_METRICS_EXPORTER: 'none',
          },
        });
        const endedMs = Date.now();
        assert.equal(result.exitCode, 0, `${result.command}\n${result.stderr}`);
        assert.equal(result.stderr, '');
        const ours = (resource: Record<string, unknown>) => resource['process.pid'] === pid;
        const span = await receiver.waitFor(
          (r) => r.spans().find((s) => s.name === 'fixture.hclog' && ours(s.resource)),
          { timeoutMs: 5_000, description: 'the span fixture.hclog' },
        );

        const written = result.stdout.toString('utf8').split('\n');
        assert.equal(written.pop(), '', 'the last line ends with a line break');
        const withoutTime = written.map((line) => {
          const time = TIMESTAMP.exec(line);
          assert.ok(time, `a six-digit @timestamp in ${line}`);
          const ms = Date.parse(time[1] as string);
          assert.ok(ms >= startedMs - 1 && ms <= endedMs, `${time[1]} within the run`);
          return line.replace(`,${time[0]}`, '');
        });
        assert.deepEqual(withoutTime, expectedLines(span));

        // The export still reads pino's own record: its level name and the error's attributes.
        const records = await receiver.waitFor(
          (r) => {
            const mine = r.logs().filter((record) => ours(record.resource));
            return mine.length >= EXPECTED.length && mine;
          },
          { timeoutMs: 5_000, description: `${EXPECTED.length} log records` },
        );
        const failed = records.find((record) => record.body === 'error level');
        assert.equal(failed?.severityText, 'error');
        assert.equal(failed?.attributes['exception.message'], 'boom');
        assert.equal(records.find((record) => record.body === 'fatal level')?.severityText, 'fatal');
        assert.equal(records.find((record) => record.body === 'custom notice')?.severityText, 'notice');
      });
    }
  }
});
