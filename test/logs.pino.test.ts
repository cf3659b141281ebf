/**
 * pino log correlation and export, end to end, on every runtime and loader, with the oldest and the
 * newest supported pino major. The fixture (test/fixtures/logs/) runs in a directory of its own whose
 * node_modules/pino is the version under test, and logs one record per case: levels, child loggers,
 * the app's own mixins, redaction, a large field, a transport in a worker thread, a record outside
 * any span and one under an unsampled remote parent.
 *
 * Each row runs the fixture three times: without the agent (the reference), with it, and with it but
 * `pino` left out of RPCPLUGIN_INSTRUMENTATIONS. The tests assert that the agent adds the three
 * correlation fields and nothing else to what the app writes (stdout and the transport's file), that
 * without `pino` the output is byte-identical, and the exact log records a collector receives.
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
import {
  type Attributes,
  type OtlpReceiver,
  type ReceivedLogRecord,
  type ReceivedSpan,
  startOtlpReceiver,
} from './support/otlp-receiver.ts';
import {
  documentedRun,
  fixture,
  type Loader,
  REPO_ROOT,
  RUNTIMES,
  type RunResult,
  type RuntimeName,
  runApp,
} from './support/runtimes.ts';

// ---------------------------------------------------------------------------------------------
// The matrix: runtimes × loaders × app formats, and the pino majors
// ---------------------------------------------------------------------------------------------

interface Row {
  readonly runtime: RuntimeName;
  readonly loader: Loader;
  readonly app: 'app.mjs' | 'app.cjs';
}

/** Every runtime with a CommonJS and an ES module app, each with its documented preload flag. */
const ROWS: readonly Row[] = RUNTIMES.flatMap((runtime) =>
  (['cjs', 'esm'] as const).map((format) => ({
    runtime,
    loader: documentedRun(runtime, format).loader,
    app: format === 'esm' ? 'app.mjs' : 'app.cjs',
  })),
);

interface PinoVersion {
  /** The devDependency holding it: `pino8` is an alias of pino 8.x. */
  readonly pkg: string;
  readonly version: string;
}

function installed(pkg: string): PinoVersion {
  return {
    pkg,
    version: JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version,
  };
}

/** The oldest and the newest supported major (src/agent/logs/pino.ts: SUPPORTED_PINO_MAJORS). */
const PINOS: readonly PinoVersion[] = [installed('pino8'), installed('pino')];

const PACKAGE_VERSION: string = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version;

// ---------------------------------------------------------------------------------------------
// App directories: the fixture beside a node_modules with the pino under test
// ---------------------------------------------------------------------------------------------

const appDirs = new Map<string, string>();

/** A directory with the fixture's files and node_modules/{pino,@opentelemetry/api,pino-abstract-transport}. */
function makeAppDir(pino: PinoVersion, extraFiles: Readonly<Record<string, string>> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'rpcplugin-telemetry-pino-'));
  for (const file of readdirSync(fixture('logs'))) copyFileSync(join(fixture('logs'), file), join(dir, file));
  for (const [name, text] of Object.entries(extraFiles)) writeFileSync(join(dir, name), text);
  const modules = join(dir, 'node_modules');
  mkdirSync(join(modules, '@opentelemetry'), { recursive: true });
  const link = (from: string, to: string) =>
    symlinkSync(join(REPO_ROOT, 'node_modules', from), join(modules, to), 'dir');
  link(pino.pkg, 'pino');
  link('@opentelemetry/api', '@opentelemetry/api');
  link('pino-abstract-transport', 'pino-abstract-transport');
  const dependencies = {
    pino: pino.version,
    '@opentelemetry/api': installed('@opentelemetry/api').version,
    'pino-abstract-transport': installed('pino-abstract-transport').version,
  };
  // Deno resolves bare specifiers from node_modules when a package.json lists them.
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'pino-fixture', private: true, dependencies }));
  return dir;
}

before(() => {
  for (const pino of PINOS) appDirs.set(pino.version, makeAppDir(pino));
});
after(() => {
  for (const dir of appDirs.values()) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Running the fixture
// ---------------------------------------------------------------------------------------------

interface FixtureRun extends RunResult {
  /** What the transport's worker wrote. */
  readonly transported: string;
}

let runs = 0;

async function runFixture(
  row: Row,
  dir: string,
  options: { agent: boolean; env?: Record<string, string>; script?: string },
): Promise<FixtureRun> {
  const out = join(dir, `transport-${++runs}.jsonl`);
  const result = await runApp({
    runtime: row.runtime,
    loader: row.loader,
    script: join(dir, options.script ?? row.app),
    cwd: dir,
    ...(options.agent ? {} : { preloads: [] }),
    env: { FIXTURE_TRANSPORT_OUT: out, ...options.env },
  });
  let transported = '';
  try {
    transported = readFileSync(out, 'utf8');
  } catch {
    // No transport in this script, or it wrote nothing: the assertions say which.
  }
  return { ...result, transported };
}

function assertRanWell(result: RunResult): void {
  assert.equal(result.signal, null, `${result.command}\n${result.stderr}`);
  assert.equal(result.exitCode, 0, `${result.command}\n${result.stderr}`);
  assert.doesNotMatch(result.stderr, /rpcplugin-telemetry:/, `a message of the agent on stderr:\n${result.stderr}`);
}

const STDOUT_RECORDS = 20;

/** The reference run without the agent, once per row and pino version. */
const references = new Map<string, Promise<FixtureRun>>();

function reference(row: Row, pino: PinoVersion): Promise<FixtureRun> {
  const key = `${row.runtime} ${row.app} ${pino.version}`;
  let run = references.get(key);
  if (run === undefined) {
    run = runFixture(row, dirOf(pino), { agent: false }).then((result) => {
      assertRanWell(result);
      assert.equal(lines(result.stdout.toString('utf8')).length, STDOUT_RECORDS, result.stdout.toString('utf8'));
      assert.doesNotMatch(result.stdout.toString('utf8'), /"span_id"/, 'the fixture itself adds no span_id');
      return result;
    });
    references.set(key, run);
  }
  return run;
}

function dirOf(pino: PinoVersion): string {
  const dir = appDirs.get(pino.version);
  if (dir === undefined) throw new Error(`no app directory for pino ${pino.version}`);
  return dir;
}

function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

/** The agent's fields as it writes them: hex values, always followed by another field. */
const AGENT_FIELDS = /"(?:trace_id|span_id|trace_flags)":"[0-9a-f]+",/g;

// ---------------------------------------------------------------------------------------------
// What the records must carry
// ---------------------------------------------------------------------------------------------

/** The unsampled remote parent the fixture logs under. */
const REMOTE = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', flags: '00' };

type Correlation = { trace_id?: string; span_id?: string; trace_flags?: string };

/** The correlation fields each stdout record must carry, once each, by message. */
function expectedCorrelation(span: ReceivedSpan): Record<string, Correlation> {
  const ours = { trace_id: span.traceId, span_id: span.spanId, trace_flags: '01' };
  const expected: Record<string, Correlation> = {};
  for (const message of MESSAGES) expected[message] = ours;
  expected['outside span'] = {};
  expected['with app mixin, after the span'] = {};
  expected['app mixin sets trace_id'] = { ...ours, trace_id: 'from-app-mixin' };
  expected['bound trace_id'] = { ...ours, trace_id: 'bound' };
  expected['call trace_id'] = { ...ours, trace_id: 'call' };
  expected['unsampled parent'] = { trace_id: REMOTE.traceId, span_id: REMOTE.spanId, trace_flags: REMOTE.flags };
  return expected;
}

interface ExpectedLog {
  body: string;
  severityNumber: number;
  severityText: string;
  attributes: Attributes;
  trace: 'span' | 'none' | 'remote';
}

const log = (
  body: string,
  severity: [number, string],
  attributes: Attributes = {},
  trace: ExpectedLog['trace'] = 'span',
): ExpectedLog => ({ body, severityNumber: severity[0], severityText: severity[1], attributes, trace });

const INFO: [number, string] = [9, 'info'];

/** Every record, in order, as the collector must receive it (stdout's 20 and the transport's one). */
const EXPECTED_LOGS: readonly ExpectedLog[] = [
  log('outside span', INFO, {}, 'none'),
  log('trace level', [1, 'trace']),
  log('debug level', [5, 'debug']),
  // Nested fields are kept to a depth of 4 (RECORD_BOUNDS).
  log('info level', INFO, { key: 'k1', nested: { a: { b: { c: { d: '[Object]' } } } } }),
  log('warn level', [13, 'warn']),
  log('error level', [17, 'error'], {
    'exception.type': 'Error',
    'exception.message': 'boom',
    'exception.stacktrace': 'Error: boom\n    at fixture (scenarios.cjs:1:1)',
    err: { code: 'E_FIXTURE' },
  }),
  log('fatal level', [21, 'fatal']),
  // notice (35) lies between info and warn: INFO3.
  log('custom level', [11, 'notice']),
  log('from child', INFO, { component: 'kv' }),
  log('from grandchild', INFO, { component: 'kv', op: 'get' }),
  log('with app mixin', INFO, { request_kind: 'unary' }),
  // The app's formatters write the level as a label; the severity comes from pino's level number.
  log('formatted', [13, 'warn'], { user: { id: 7 } }),
  // The app's own values differ from the span's: they stay, as attributes.
  log('app mixin sets trace_id', INFO, { trace_id: 'from-app-mixin' }),
  log('bound trace_id', INFO, { trace_id: 'bound' }),
  log('call trace_id', INFO, { trace_id: 'call' }),
  // Exported as written: the app's redaction holds.
  log('redacted', INFO, { secret: '[Redacted]' }),
  log('large', INFO, { blob: 'x'.repeat(32 * 1024) }),
  log('after await', INFO),
  log('through transport', INFO, { via: 'transport' }),
  // The app's mixin returns one shared object: the span's fields were not left in it.
  log('with app mixin, after the span', INFO, { request_kind: 'unary' }, 'none'),
  log('unsampled parent', INFO, {}, 'remote'),
];

const MESSAGES = EXPECTED_LOGS.map((expected) => expected.body).filter((body) => body !== 'through transport');

function assertCorrelated(line: string, expected: Correlation, where: string): void {
  const record = JSON.parse(line) as Record<string, unknown>;
  for (const key of ['trace_id', 'span_id', 'trace_flags'] as const) {
    const count = line.split(`"${key}":`).length - 1;
    assert.equal(count, key in expected ? 1 : 0, `${key} in ${where}: ${line}`);
    assert.equal(record[key], expected[key], `${key} in ${where}: ${line}`);
  }
}

function normalised(record: ReceivedLogRecord, span: ReceivedSpan): ExpectedLog {
  const trace =
    record.traceId === '' && record.spanId === '' && record.flags === 0
      ? 'none'
      : record.traceId === span.traceId && record.spanId === span.spanId && record.flags === 1
        ? 'span'
        : record.traceId === REMOTE.traceId && record.spanId === REMOTE.spanId && record.flags === 0
          ? 'remote'
          : (`trace ${record.traceId} span ${record.spanId} flags ${record.flags}` as ExpectedLog['trace']);
  return {
    body: record.body as string,
    severityNumber: record.severityNumber,
    severityText: record.severityText,
    attributes: record.attributes,
    trace,
  };
}

async function withReceiver<T>(body: (receiver: OtlpReceiver) => Promise<T>): Promise<T> {
  const receiver = await startOtlpReceiver();
  try {
    return await body(receiver);
  } finally {
    await receiver.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The tests, per runtime, loader and pino version
// ---------------------------------------------------------------------------------------------

describe('pino correlation and export', { concurrency: 3 }, () => {
  for (const row of ROWS) {
    for (const pino of PINOS) {
      const title = `${row.runtime} ${row.loader.name} ${row.app}, pino ${pino.version}`;
      describe(title, { concurrency: 1 }, () => {
        test('records made in a span carry trace_id, span_id and trace_flags once each, through child loggers, mixins and a transport; nothing else changes', () =>
          withReceiver(async (receiver) => {
            const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_METRICS_EXPORTER: 'none' };
            const [bare, traced] = await Promise.all([
              reference(row, pino),
              runFixture(row, dirOf(pino), { agent: true, env }),
            ]);
            assertRanWell(traced);
            const span = await receiver.waitFor((r) => r.spans().find((s) => s.name === 'fixture.logs'), {
              timeoutMs: 5_000,
              description: 'the span fixture.logs',
            });

            const stdout = traced.stdout.toString('utf8');
            const written = lines(stdout);
            assert.equal(written.length, STDOUT_RECORDS, stdout);
            const correlation = expectedCorrelation(span);
            for (const line of written) {
              const message = String((JSON.parse(line) as { msg: unknown }).msg);
              assertCorrelated(line, correlation[message] ?? {}, 'stdout');
            }
            const transported = lines(traced.transported);
            assert.equal(transported.length, 1, `the transport's file:\n${traced.transported}`);
            assertCorrelated(transported[0] as string, correlation['after await'] as Correlation, 'the transport');

            // Without the agent's three fields, the app wrote exactly what it writes without the agent.
            assert.equal(stdout.replace(AGENT_FIELDS, ''), bare.stdout.toString('utf8'));
            assert.equal(traced.transported.replace(AGENT_FIELDS, ''), bare.transported);

            const records = await receiver.waitFor((r) => r.logs().length >= EXPECTED_LOGS.length && r.logs(), {
              timeoutMs: 5_000,
              description: `${EXPECTED_LOGS.length} log records`,
            });
            assert.deepEqual(
              records.map((record) => normalised(record, span)),
              EXPECTED_LOGS,
            );
            for (const record of records) {
              assert.deepEqual(record.scope, {
                name: 'rpcplugin-telemetry/pino',
                version: PACKAGE_VERSION,
                attributes: {},
              });
              assert.ok(record.timeUnixNano > 0n, 'every record has a time');
            }
          }));

        test('with pino left out of RPCPLUGIN_INSTRUMENTATIONS, stdout and the transport are byte-identical to a run without the agent', () =>
          withReceiver(async (receiver) => {
            const env = {
              OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
              OTEL_METRICS_EXPORTER: 'none',
              RPCPLUGIN_INSTRUMENTATIONS: 'grpc,process',
            };
            const [bare, untouched] = await Promise.all([
              reference(row, pino),
              runFixture(row, dirOf(pino), { agent: true, env }),
            ]);
            assertRanWell(untouched);
            assert.deepEqual(untouched.stdout, bare.stdout);
            assert.equal(untouched.transported, bare.transported);
            // The agent did run: the fixture's span was exported, and no log record.
            await receiver.waitFor((r) => r.spans().some((s) => s.name === 'fixture.logs'), { timeoutMs: 5_000 });
            assert.deepEqual(receiver.logs(), []);
          }));
      });
    }
  }
});

describe('pino instrumentation, edge cases', { concurrency: true }, () => {
  const newest = PINOS.at(-1) as PinoVersion;

  const NO_EXPORT = { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' };

  for (const row of ROWS.filter((candidate) => candidate.app === 'app.mjs')) {
    test(`${row.runtime} ${row.loader.name}: an app that never loads pino does not get it loaded by the agent`, async () => {
      const [run, control] = await Promise.all([
        runFixture(row, dirOf(newest), { agent: true, script: 'no-pino.cjs', env: NO_EXPORT }),
        runFixture(row, dirOf(newest), {
          agent: true,
          script: 'no-pino.cjs',
          env: { ...NO_EXPORT, FIXTURE_LOAD_PINO: '1' },
        }),
      ]);
      assertRanWell(run);
      assertRanWell(control);
      // The control loads pino: its modules are seen in require.cache.
      const pinoModules = (result: RunResult) =>
        lines(result.stdout.toString('utf8')).filter((file) => !file.endsWith('/pino/pino.js'));
      assert.ok(pinoModules(control).length > 3, `the control loaded pino:\n${control.stdout}`);
      // pino.js alone may be there: the agent's placeholder, whose code never ran.
      assert.deepEqual(pinoModules(run), []);
    });
  }

  test('OTEL_LOGS_EXPORTER=none: records are still correlated, nothing is exported', () =>
    withReceiver(async (receiver) => {
      const row = ROWS[1] as Row;
      const run = await runFixture(row, dirOf(newest), {
        agent: true,
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' },
      });
      assertRanWell(run);
      const span = await receiver.waitFor((r) => r.spans().find((s) => s.name === 'fixture.logs'), {
        timeoutMs: 5_000,
      });
      const info = lines(run.stdout.toString('utf8')).find((line) => line.includes('"msg":"info level"')) ?? '';
      assertCorrelated(info, { trace_id: span.traceId, span_id: span.spanId, trace_flags: '01' }, 'stdout');
      assert.deepEqual(receiver.logs(), []);
    }));

  test('a pino outside the supported majors is left alone, with one warning', async () => {
    // A pino 11 stand-in: the real module under another version number.
    const dir = makeAppDir(newest);
    try {
      const main = join(dir, 'node_modules', 'pino-next', 'pino.js');
      mkdirSync(join(dir, 'node_modules', 'pino-next'));
      rmSync(join(dir, 'node_modules', 'pino'));
      symlinkSync(join(dir, 'node_modules', 'pino-next'), join(dir, 'node_modules', 'pino'), 'dir');
      writeFileSync(
        join(dir, 'node_modules', 'pino-next', 'package.json'),
        '{"name":"pino","version":"11.0.0","main":"pino.js"}',
      );
      // Each export spelled out, so that Node's ESM loader finds the named ones in the source.
      const names = [
        'destination',
        'transport',
        'multistream',
        'levels',
        'stdSerializers',
        'stdTimeFunctions',
        'symbols',
      ];
      writeFileSync(
        main,
        [
          `const real = require(${JSON.stringify(join(REPO_ROOT, 'node_modules', 'pino'))});`,
          'module.exports = (...args) => real(...args);',
          ...names.map((name) => `module.exports.${name} = real.${name};`),
          "module.exports.version = '11.0.0';",
          'module.exports.default = module.exports;',
          'module.exports.pino = module.exports;',
          '',
        ].join('\n'),
      );
      const row = ROWS[1] as Row;
      const [bare, traced] = await Promise.all([
        runFixture(row, dir, { agent: false }),
        runFixture(row, dir, {
          agent: true,
          env: { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' },
        }),
      ]);
      assert.equal(traced.exitCode, 0, traced.stderr);
      assert.deepEqual(traced.stdout, bare.stdout);
      assert.deepEqual(
        traced.stderr.split('\n').filter((line) => line.startsWith('rpcplugin-telemetry:')),
        [
          'rpcplugin-telemetry: pino 11.0.0 is outside the supported versions (8.x to 10.x): its records get no trace context and are not exported.',
        ],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
