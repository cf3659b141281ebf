/**
 * Malformed environments in real processes (issue 11, part 4): 200 environments generated from a
 * fixed seed mix malformed OTEL_* and RPCPLUGIN_* values (bad and huge numbers, control characters,
 * bad URLs, unknown enum entries, malformed headers, resource attributes and baggage, bad
 * TRACEPARENT, …) with secrets planted where the schema keeps them secret: OTLP headers (whole
 * values, keys and malformed entries), URL userinfo in endpoints, secret-looking keys in resource
 * attributes and baggage, and the go-plugin magic cookie. Each runs a real app under the built
 * preload, spread over Node 24 (ES module and CommonJS), Bun and Deno, two at a time. For each:
 * - the app's stdout is byte-identical to its bare run, and its exit code is its own (78 with an
 *   empty stdout when RPCPLUGIN_STRICT=true and loadConfig finds a problem);
 * - stderr holds no stack trace, no "Uncaught", and none of the planted secrets, raw, base64 or
 *   percent-encoded, and stays small (the problem report has a size cap).
 * The seed is in each test's name: the same seed gives the same environments.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { loadConfig, STRICT_EXIT_CODE, VARIABLE_NAMES } from '../src/env/index.ts';
import { closedPort, type OtlpReceiver, startOtlpReceiver } from './support/otlp-receiver.ts';
import { AGENT_RUNS, type AgentRun, fixture, type RunResult, runApp } from './support/runtimes.ts';

const SEED = 20261201;
const PER_ROW = 50;
const ROWS: readonly AgentRun[] = AGENT_RUNS.filter((row) => ['node24', 'bun', 'deno'].includes(row.runtime));
const APP_EXIT_CODE = 5;
/** The problem report is capped well below this; a report that grows with the input is a bug. */
const STDERR_BOUND = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// Malformed values, by kind; <secret> marks where a planted secret goes.

const CONTROL = ['\u0001', '\u0007', '\u001b[31m', '\r', '\n', '\t', '\u007f', '\u0085', '\u2028'];
const BAD_NUMBERS = ['-1', '1.5', 'abc', 'NaN', 'Infinity', '1e400', '99999999999999999999', '0x10', ' 7 ', '½'];
const BAD_URLS = [
  'ftp://127.0.0.1:4318',
  '127.0.0.1:4318',
  'http://127.0.0.1:99999',
  'http://',
  'http://[::1',
  'https://127.0.0.1:1/v1/traces',
  'http://127.0.0.1:1',
  ':::',
  '//127.0.0.1',
];
const BAD_ENUMS = ['otlp,zipkin', 'xray', 'OTLP, ,', 'none,console,x', 'grpc/json', 'always', 'b3,xray,w3c', 'http'];
const BAD_LISTS = ['=', ',', '=,=', 'a', 'a=%zz', 'a=%E0%A4%A', 'k=v;p', 'bad key=v', 'a=b=c', '%'];
const BAD_TRACEPARENTS = [
  'ff-00-00',
  `00-${'0'.repeat(32)}-${'0'.repeat(16)}-00`,
  '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7',
  '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
  '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
  'not a traceparent',
];
const BAD_PATHS = ['/nonexistent/ca.pem', '/', '/etc/hosts', 'relative/key.pem'];
const HUGE = [
  `${'9'.repeat(60_000)}`,
  `otlp,${'x,'.repeat(30_000)}`,
  `a=b,${'k=%zz,'.repeat(10_000)}`,
  `http://127.0.0.1:1/${'p'.repeat(60_000)}`,
  ','.repeat(60_000),
];

/** Secret-bearing values: each holds <secret>, in a place the agent must keep hidden. */
const SECRET_HEADERS = [
  'x-api-key=<secret>',
  'authorization=Bearer%20<secret>',
  'x-tenant=<secret>',
  '<secret>',
  'a=%zz,b=<secret>',
  'bad key=<secret>',
  '<secret>=value',
  'x-token=<secret>%zz',
  `x-long=${'a'.repeat(300)}<secret>`,
  'x-ctl=\u0001<secret>\u001b',
];
const SECRET_URLS = [
  'http://user:<secret>@127.0.0.1:1',
  'http://<secret>@127.0.0.1:1',
  'ftp://u:<secret>@127.0.0.1',
  'http://u:<secret>@',
  'http:\\\\u:<secret>@127.0.0.1:1',
  '<secret>@127.0.0.1:4318',
  'http://u:<secret>@127.0.0.1:99999/v1/traces',
];
const SECRET_KEY_VALUES = [
  'api.token=<secret>',
  'db_password=<secret>%zz',
  'session.id=<secret>,%%',
  'k=v;token=<secret>',
  'auth=<secret>,bad entry',
];

const HEADER_VARIABLES = VARIABLE_NAMES.filter((name) => /^OTEL_EXPORTER_OTLP_.*HEADERS$/.test(name));
const ENDPOINT_VARIABLES = VARIABLE_NAMES.filter((name) => name.endsWith('_ENDPOINT'));

const malformedValue: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...BAD_NUMBERS),
  fc.constantFrom(...BAD_URLS),
  fc.constantFrom(...BAD_ENUMS),
  fc.constantFrom(...BAD_LISTS),
  fc.constantFrom(...BAD_TRACEPARENTS),
  fc.constantFrom(...BAD_PATHS),
  { weight: 1, arbitrary: fc.constantFrom(...HUGE) },
  fc
    .tuple(fc.constantFrom(...CONTROL), fc.constantFrom(...BAD_NUMBERS, ...BAD_ENUMS, 'true', '100'))
    .map(([control, text]) => `${text}${control}`),
  fc.string({ unit: fc.constantFrom('%', '=', ',', ';', ' ', '@', '/', ':', 'a', '0', ...CONTROL), maxLength: 30 }),
);

type Planted = { readonly name: string; readonly template: string };
const plantedSecret: fc.Arbitrary<Planted> = fc.oneof(
  fc.record({ name: fc.constantFrom(...HEADER_VARIABLES), template: fc.constantFrom(...SECRET_HEADERS) }),
  fc.record({ name: fc.constantFrom(...ENDPOINT_VARIABLES), template: fc.constantFrom(...SECRET_URLS) }),
  fc.record({
    name: fc.constantFrom('OTEL_RESOURCE_ATTRIBUTES', 'BAGGAGE'),
    template: fc.constantFrom(...SECRET_KEY_VALUES),
  }),
  fc.record({ name: fc.constant('PLUGIN_MAGIC_COOKIE'), template: fc.constant('<secret>') }),
  fc.record({ name: fc.constant('BASIC_PLUGIN'), template: fc.constant('<secret>') }),
);

interface Generated {
  readonly malformed: ReadonlyArray<readonly [string, string]>;
  readonly planted: readonly Planted[];
  readonly pluginRole: boolean;
  readonly cookieKey: boolean;
  readonly strict: boolean;
}

const generated: fc.Arbitrary<Generated> = fc.record({
  malformed: fc.array(fc.tuple(fc.constantFrom(...VARIABLE_NAMES), malformedValue), { minLength: 2, maxLength: 12 }),
  planted: fc.array(plantedSecret, { minLength: 1, maxLength: 4 }),
  pluginRole: fc.boolean(),
  cookieKey: fc.boolean(),
  // One environment in eight is strict.
  strict: fc.integer({ min: 0, max: 7 }).map((draw) => draw === 0),
});

interface Case {
  readonly index: number;
  readonly row: AgentRun;
  readonly env: Record<string, string>;
  readonly secrets: readonly string[];
}

/** The environments, deterministic for SEED: the index names the environment, the seed the whole set. */
function cases(): Case[] {
  const samples = fc.sample(generated, { seed: SEED, numRuns: PER_ROW * ROWS.length });
  return samples.map((sample, index) => {
    const env: Record<string, string> = {};
    for (const [name, value] of sample.malformed) env[name] = value;
    const secrets: string[] = [];
    for (const [number, { name, template }] of sample.planted.entries()) {
      // Letters and digits only: its percent-encoded form is itself, so its base64 is checked too.
      const secret = `Sx${SEED}n${index}k${number}Qz`;
      secrets.push(secret);
      env[name] = template.replaceAll('<secret>', secret);
    }
    if (sample.pluginRole) {
      env.PLUGIN_PROTOCOL_VERSIONS = '5';
      env.PLUGIN_MIN_PORT = '10000';
    }
    if (sample.cookieKey) env.RPCPLUGIN_MAGIC_COOKIE_KEY = 'BASIC_PLUGIN';
    if (sample.strict) env.RPCPLUGIN_STRICT = 'true';
    // A later plant in the same variable replaces an earlier one: check the secrets that are there.
    const present = secrets.filter((secret) => Object.values(env).some((value) => value.includes(secret)));
    return { index, row: ROWS[index % ROWS.length] as AgentRun, env, secrets: present };
  });
}

// ---------------------------------------------------------------------------------------------

let healthy: OtlpReceiver;
before(async () => {
  healthy = await startOtlpReceiver();
});
after(() => healthy.close());

function scriptOf(row: AgentRun): string {
  return fixture(row.format === 'esm' ? 'app.mjs' : 'app.cjs');
}

function explain(run: RunResult, env: Record<string, string>): string {
  const shown = Object.entries(env)
    .map(([name, value]) => `${name}=${JSON.stringify(value.length > 300 ? `${value.slice(0, 300)}…` : value)}`)
    .join('\n  ');
  return `env:\n  ${shown}\nexit ${run.exitCode} signal ${run.signal}\nstderr (${run.stderr.length} characters):\n${run.stderr.slice(0, 4000)}`;
}

/** Forms a secret could leak in: as is, base64 (an Authorization: Basic header), percent-encoded. */
function leakedForms(secret: string): string[] {
  const base64 = Buffer.from(secret).toString('base64').replace(/=+$/, '');
  return [secret, base64, encodeURIComponent(secret)];
}

const STACK_LINE = /^\s+at .*(:\d+:\d+\)?|<anonymous>\)?|native\)?)$/m;

describe(`malformed environments with planted secrets (seed ${SEED})`, { concurrency: 2 }, () => {
  const all = cases();
  const bare = new Map<AgentRun, Promise<RunResult>>();
  before(async () => {
    for (const row of ROWS) {
      bare.set(
        row,
        runApp({ runtime: row.runtime, script: scriptOf(row), env: { APP_EXIT_CODE: String(APP_EXIT_CODE) } }),
      );
    }
  });
  for (const { index, row, env: generatedEnv, secrets } of all) {
    test(`seed ${SEED} #${index}: ${row.runtime} ${row.loader.name} ${row.format}`, async () => {
      // A healthy receiver and a free Prometheus port unless the environment says otherwise.
      const env: Record<string, string> = {
        OTEL_EXPORTER_OTLP_ENDPOINT: healthy.url,
        OTEL_EXPORTER_PROMETHEUS_PORT: String(await closedPort()),
        APP_EXIT_CODE: String(APP_EXIT_CODE),
        ...generatedEnv,
      };
      const { config, problems } = loadConfig(env);
      const stopped = config.strict && problems.length > 0;
      const run = await runApp({
        runtime: row.runtime,
        loader: row.loader,
        script: scriptOf(row),
        env,
        timeoutMs: 30_000,
      });
      const context = explain(run, env);
      const reference = await bare.get(row);
      assert.ok(reference !== undefined && reference.exitCode === APP_EXIT_CODE, 'the bare run');
      if (stopped) {
        assert.equal(run.exitCode, STRICT_EXIT_CODE, context);
        assert.equal(run.stdout.length, 0, `nothing on stdout before the app: ${context}`);
      } else {
        assert.equal(run.exitCode, APP_EXIT_CODE, context);
        assert.ok(run.stdout.equals(reference.stdout), `stdout differs from the bare run's: ${context}`);
      }
      assert.equal(run.signal, null, context);
      assert.doesNotMatch(run.stderr, /Uncaught/, context);
      assert.doesNotMatch(run.stderr, STACK_LINE, context);
      assert.ok(run.stderr.length < STDERR_BOUND, `stderr bounded: ${context}`);
      for (const secret of secrets) {
        for (const form of leakedForms(secret)) {
          assert.ok(!run.stderr.includes(form), `the planted secret ${secret} (as ${form}) on stderr: ${context}`);
          assert.ok(!run.stdout.includes(form), `the planted secret ${secret} (as ${form}) on stdout: ${context}`);
        }
      }
    });
  }
});
