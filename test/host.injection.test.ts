/**
 * The host role's context injection, on every AGENT_RUNS row: an app (test/fixtures/host/inject-app.*)
 * starts children in every way node:child_process offers (and Bun.spawn, Deno.Command where they
 * exist) inside an active span with baggage; each child prints the TRACEPARENT, TRACESTATE and
 * BAGGAGE it got. The app itself was started with a TRACEPARENT of another trace, as a plugin
 * would be: the children must get the current context, not that inherited one. See docs/host.md.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AGENT_RUNS, type AgentRun, fixture, type RunResult, runApp } from './support/runtimes.ts';

const INHERITED_TRACEPARENT = '00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb-01';
const OWN_TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

interface Report {
  readonly traceId: string;
  readonly spanId: string;
  readonly forms: Record<string, string>;
  readonly callerWins?: Record<string, string>;
  readonly callerEnvUnchanged?: boolean;
  readonly processEnvUnchanged: boolean;
}

function script(run: AgentRun): string {
  return fixture(`host/inject-app.${run.format === 'cjs' ? 'cjs' : 'mjs'}`);
}

async function runInjectApp(
  run: AgentRun,
  env: Record<string, string> = {},
): Promise<{ result: RunResult; report: Report }> {
  const result = await runApp({
    runtime: run.runtime,
    loader: run.loader,
    script: script(run),
    timeoutMs: 60_000,
    env: {
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      TRACEPARENT: INHERITED_TRACEPARENT,
      ...env,
    },
  });
  assert.equal(result.exitCode, 0, `${result.command}\n${result.stderr}`);
  return { result, report: JSON.parse(result.stdout.toString('utf8')) as Report };
}

const expectedForms = (run: AgentRun): string[] => {
  if (run.format === 'cjs') {
    return [
      'spawn(cmd, args)',
      'spawnSync(cmd, args)',
      'exec(cmd, callback)',
      'execFileSync(file, args)',
      'fork(module, args, options)',
    ];
  }
  const own = {
    bun: ['Bun.spawn([cmd])', 'Bun.spawn({ cmd, env })', 'Bun.spawnSync([cmd], options)'],
    deno: ['Deno.Command#output()', 'Deno.Command#outputSync()', 'Deno.Command#spawn()'],
  };
  return [
    'spawn(cmd, args)',
    'spawn(cmd, args, options)',
    'spawn(cmd, options) with shell',
    'spawn through the default export',
    'spawnSync(cmd, args)',
    'exec(cmd, callback)',
    'exec(cmd, options, callback)',
    'promisify(exec)(cmd)',
    'execSync(cmd)',
    'execFile(file, args, callback)',
    'execFile(file, args, options, callback)',
    'promisify(execFile)(file, args)',
    'execFileSync(file, args)',
    'fork(module, args, options)',
    'fork(module)',
    'spawn with { ...process.env } (an inherited TRACEPARENT is not a choice)',
    ...(run.runtime === 'bun' || run.runtime === 'deno' ? own[run.runtime] : []),
  ];
};

for (const run of AGENT_RUNS) {
  describe(`host role, child process environment: ${run.runtime} ${run.loader.name} (${run.format})`, () => {
    test("every way of starting a child hands it the active span's context, process.env unchanged", async () => {
      const { report } = await runInjectApp(run);
      assert.match(report.traceId, /^[0-9a-f]{32}$/);
      assert.deepEqual(Object.keys(report.forms), expectedForms(run));
      // CommonJS app: no baggage of its own; the ES module one sets tenant=blue.
      const baggage = run.format === 'cjs' ? '' : 'tenant=blue';
      for (const [form, carriers] of Object.entries(report.forms)) {
        assert.equal(carriers, `00-${report.traceId}-${report.spanId}-01||${baggage}`, form);
      }
      assert.equal(report.processEnvUnchanged, true, 'process.env changed');
    });

    if (run.format === 'esm') {
      test("the caller's own TRACEPARENT, TRACESTATE or BAGGAGE wins, and its env object is not changed", async () => {
        const { report } = await runInjectApp(run);
        assert.equal(report.callerEnvUnchanged, true, "the caller's env object changed");
        const wins = report.callerWins ?? {};
        for (const api of ['spawnSync', 'exec']) {
          assert.equal(wins[`${api}: own TRACEPARENT`], `${OWN_TRACEPARENT}||`, api);
          // BAGGAGE alone: the other two are left out, not filled in (Deno's spawnSync adds the
          // process's own environment to the env it is given, with or without the agent).
          const [traceparent, tracestate, baggage] = (wins[`${api}: own BAGGAGE only`] ?? '').split('|');
          assert.ok(traceparent === '' || traceparent === INHERITED_TRACEPARENT, `${api}: ${traceparent}`);
          assert.equal(tracestate, '');
          assert.equal(baggage, 'mine=1');
        }
      });

      test('with the child_process instrumentation off, children get only what they inherit', async () => {
        const { report } = await runInjectApp(run, { RPCPLUGIN_INSTRUMENTATIONS: 'grpc,pino,process' });
        for (const [form, carriers] of Object.entries(report.forms)) {
          if (form.startsWith('Bun.spawn({')) assert.equal(carriers, '||', form);
          else assert.equal(carriers, `${INHERITED_TRACEPARENT}||`, form);
        }
      });
    }
  });
}
