/**
 * Where the agent finds the app's packages when the main script is a symbolic link: from the same
 * place as the app's own require and import (src/agent/runtime/app-main-module.ts), for grpc-js and
 * pino alike. The link and its target sit in two directories whose node_modules hold different
 * copies (grpc-js 1.14 and pino 10 beside the target, grpc-js 1.8 and pino 8 beside the link), so an
 * instrumentation that looks in the wrong one patches a copy the app never loads: then its calls
 * have no spans, or its log lines no trace context.
 *
 * Node, Bun and a CommonJS main on Deno resolve from the target's real path; an ES module main on
 * Deno resolves from the link; `NODE_OPTIONS=--preserve-symlinks-main` makes Node do the same.
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
import { type OtlpReceiver, SpanKind, startOtlpReceiver } from './support/otlp-receiver.ts';
import { AGENT_RUNS, type AgentRun, fixture, REPO_ROOT, runApp, runtimeVersions } from './support/runtimes.ts';

const VERSIONS = await runtimeVersions(new Set(AGENT_RUNS.map((row) => row.runtime)));

const versionOf = (pkg: string): string =>
  JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;

/** What each directory's node_modules holds: the installed package behind each name. */
const TARGET_SIDE = { '@grpc/grpc-js': '@grpc/grpc-js', pino: 'pino' };
const LINK_SIDE = { '@grpc/grpc-js': 'grpc-js-1-8', pino: 'pino8' };

const copiesOf = (side: Record<'@grpc/grpc-js' | 'pino', string>) => ({
  grpcJs: versionOf(side['@grpc/grpc-js']),
  pino: versionOf(side.pino),
});

interface Row {
  readonly run: AgentRun;
  readonly env: Readonly<Record<string, string>>;
  /** Which directory the app's own imports resolve from. */
  readonly resolvesFrom: 'target' | 'link';
}

const denoRun = AGENT_RUNS.find((run) => run.runtime === 'deno') as AgentRun;
const node24Run = AGENT_RUNS.find((run) => run.runtime === 'node24' && run.format === 'esm') as AgentRun;

const ROWS: readonly Row[] = [
  ...AGENT_RUNS.map((run) => ({
    run,
    env: {},
    resolvesFrom: run.runtime === 'deno' && run.format === 'esm' ? ('link' as const) : ('target' as const),
  })),
  // Deno runs a CommonJS main by its real path.
  { run: { ...denoRun, format: 'cjs' }, env: {}, resolvesFrom: 'target' },
  { run: node24Run, env: { NODE_OPTIONS: '--preserve-symlinks-main' }, resolvesFrom: 'link' },
];

let dir: string;
let receiver: OtlpReceiver;

before(async () => {
  receiver = await startOtlpReceiver();
  dir = mkdtempSync(join(tmpdir(), 'rpcplugin-telemetry-app-main-'));
  const sides = { target: TARGET_SIDE, link: LINK_SIDE };
  for (const [side, packages] of Object.entries(sides)) {
    const modules = join(dir, side, 'node_modules');
    mkdirSync(join(modules, '@grpc'), { recursive: true });
    for (const [name, installed] of Object.entries(packages)) {
      symlinkSync(join(REPO_ROOT, 'node_modules', installed), join(modules, name), 'dir');
    }
    // Deno resolves bare specifiers through node_modules only for packages the package.json lists.
    const manifest = { name: `app-main-${side}`, private: true, dependencies: { '@grpc/grpc-js': '*', pino: '*' } };
    writeFileSync(join(dir, side, 'package.json'), `${JSON.stringify(manifest)}\n`);
  }
  // The app's files live beside the target; the link directory has a symbolic link to each.
  for (const file of readdirSync(fixture('app-main'))) {
    copyFileSync(join(fixture('app-main'), file), join(dir, 'target', file));
    symlinkSync(join('..', 'target', file), join(dir, 'link', file));
  }
});

after(async () => {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

let services = 0;

describe('a main script reached through a symbolic link', { concurrency: 3 }, () => {
  for (const { run, env, resolvesFrom } of ROWS) {
    const app = run.format === 'esm' ? 'app.mjs' : 'app.cjs';
    const shown = Object.entries(env).map(([name, value]) => `${name}=${value} `);
    test(`${shown.join('')}${run.runtime} (${VERSIONS[run.runtime]}) ${run.loader.name} link/${app}: grpc-js and pino are instrumented where the app resolves them, from the ${resolvesFrom}`, async () => {
      const service = `app-main-${run.runtime}-${++services}`;
      const result = await runApp({
        runtime: run.runtime,
        loader: run.loader,
        script: join(dir, 'link', app),
        cwd: dir,
        env: {
          ...env,
          OTEL_SERVICE_NAME: service,
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_METRICS_EXPORTER: 'none',
          OTEL_LOGS_EXPORTER: 'none',
        },
        timeoutMs: 30_000,
      });
      const where = `${result.command}\n${result.stderr}`;
      assert.equal(result.exitCode, 0, where);
      assert.equal(result.stderr, '', where);
      const lines = result.stdout
        .toString('utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      // The copies the app itself got.
      assert.deepEqual(lines.at(-1), copiesOf(resolvesFrom === 'target' ? TARGET_SIDE : LINK_SIDE), where);

      // grpc-js: the call has its two spans, so the copy the app loaded is the one patched.
      const spans = await receiver.waitFor(
        (r) => {
          const ours = r.spans().filter((span) => span.resource['service.name'] === service);
          return ours.length >= 2 && ours;
        },
        { description: `the client and server spans of ${service}` },
      );
      const server = spans.find((span) => span.kind === SpanKind.SERVER);
      assert.ok(server, where);
      assert.deepEqual(spans.map((span) => span.name).sort(), ['test.Echo/Echo', 'test.Echo/Echo'], where);

      // pino: the handler's line carries the server span's context, so that copy is instrumented too.
      const logged = lines.find((line) => line.msg === 'echo handled');
      assert.ok(logged, where);
      assert.equal(logged.trace_id, server.traceId, where);
      assert.equal(logged.span_id, server.spanId, where);
    });
  }
});
