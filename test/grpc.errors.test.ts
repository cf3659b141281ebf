/**
 * Server errors as spans record them, and client streams whose error nobody handles, on every agent
 * run (test/support/runtimes.ts AGENT_RUNS). The app (test/fixtures/grpc/errors.cjs) is a plain
 * grpc-js app serving and calling itself:
 *
 * - handlers that fail every way grpc-js lets them: a server stream and a bidirectional stream that
 *   emit 'error' (grpc-node's interop `status_code_and_message` and FullDuplexCall cases), callbacks
 *   given plain status objects, an instance of a class of the app's, an Error subclass. Each server
 *   span records the exception with the type and message that the error itself gives (docs/grpc.md);
 * - a client stream with a 'data' listener only, which receives an error status: grpc-js's 'error'
 *   event is unhandled and throws. The app dies of it exactly as it would without the agent, and the
 *   client span ends with the error all the same.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { appWithGrpcJs, GRPC_FIXTURES, lastJsonLine, spanOf } from './support/grpc.ts';
import {
  type OtlpReceiver,
  type ReceivedSpan,
  SpanKind,
  StatusCode,
  startOtlpReceiver,
} from './support/otlp-receiver.ts';
import { AGENT_RUNS, type AgentRun, REPO_ROOT, type RunResult, runApp, runtimeVersions } from './support/runtimes.ts';

const VERSIONS = await runtimeVersions(new Set(AGENT_RUNS.map((row) => row.runtime)));

/** A grpc-js version the app runs on, and the directory of the fixture apps that resolve it. */
interface GrpcJs {
  readonly version: string;
  readonly dir: string;
}

const versionOf = (pkg: string): string =>
  JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;

const oldest = appWithGrpcJs('grpc-js-1-8');
after(() => oldest.remove());

/** The newest supported grpc-js (the repository's) and the oldest (test/grpc.versions.test.ts). */
const NEWEST: GrpcJs = { version: versionOf('@grpc/grpc-js'), dir: GRPC_FIXTURES };
const GRPC_JS: readonly GrpcJs[] = [NEWEST, { version: versionOf('grpc-js-1-8'), dir: oldest.dir }];

const appIn = (grpcJs: GrpcJs, row: AgentRun) =>
  join(grpcJs.dir, row.format === 'esm' ? 'errors-app.mjs' : 'errors-app.cjs');

/** What each handled call returns to the client, with or without the agent. */
const RESULTS: Readonly<Record<string, string>> = {
  'plain-message': 'UNKNOWN test status message',
  'plain-details': 'INTERNAL disk on fire',
  'plain-named': 'UNAVAILABLE quota spent',
  'class-instance': 'DATA_LOSS store lost',
  'error-subclass': 'UNKNOWN too slow',
  'type-error': 'UNKNOWN not a key',
  watch: 'INTERNAL watch broke',
  'watch-first': 'INTERNAL watch broke',
  exchange: 'UNKNOWN test status message',
};

interface ServerError {
  readonly status: string;
  readonly type: string;
  readonly message: string;
}

/** Each step's server span: its status message, and the exception's type and message. */
const SERVER_ERRORS: Readonly<Record<string, ServerError>> = {
  // A plain object has no class: its type is the status grpc-js made of it.
  'plain-message': { status: 'UNKNOWN: test status message', type: 'UNKNOWN', message: 'test status message' },
  'plain-details': { status: 'INTERNAL: disk on fire', type: 'INTERNAL', message: 'disk on fire' },
  // A plain object that says what it is.
  'plain-named': { status: 'UNAVAILABLE: quota spent', type: 'QuotaError', message: 'quota spent' },
  'class-instance': { status: 'DATA_LOSS: store lost', type: 'StoreError', message: 'store lost' },
  // An Error subclass that does not name itself is still its class.
  'error-subclass': { status: 'UNKNOWN: too slow', type: 'TooSlowError', message: 'too slow' },
  'type-error': { status: 'UNKNOWN: not a key', type: 'TypeError', message: 'not a key' },
  // Emitted on a server stream, after a message and before any (then the status goes out at once,
  // from grpc-js's own 'error' listener).
  watch: { status: 'INTERNAL: watch broke', type: 'Error', message: 'watch broke' },
  'watch-first': { status: 'INTERNAL: watch broke', type: 'Error', message: 'watch broke' },
  // Emitted on a bidirectional stream, as grpc-node's interop server does: a plain object.
  exchange: { status: 'UNKNOWN: test status message', type: 'UNKNOWN', message: 'test status message' },
};

const describeRun = (run: RunResult) => `${run.command}\nexit ${run.exitCode} signal ${run.signal}\n${run.stderr}`;

let services = 0;

/** Runs the errors app with the agent; its spans are told apart by a service name of its own. */
async function runErrorsApp(
  row: AgentRun,
  grpcJs: GrpcJs,
  receiver: OtlpReceiver | undefined,
  scenario: string,
): Promise<{ run: RunResult; service: string }> {
  const service = `errors-${row.runtime}-${++services}`;
  const env: Record<string, string> = { ERRORS_SCENARIO: scenario };
  if (receiver !== undefined) {
    Object.assign(env, {
      OTEL_SERVICE_NAME: service,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      RPCPLUGIN_GRPC_CAPTURE_METADATA: 'x-call',
    });
  }
  const run = await runApp({
    runtime: row.runtime,
    script: appIn(grpcJs, row),
    cwd: grpcJs.dir,
    env,
    timeoutMs: 30_000,
    // Without a receiver, the app runs bare: the reference.
    ...(receiver === undefined ? {} : { loader: row.loader }),
  });
  return { run, service };
}

/** The spans of one run's service, once `count` of them have arrived. */
async function spansOf(receiver: OtlpReceiver, service: string, count: number): Promise<ReceivedSpan[]> {
  const ours = () => receiver.spans().filter((span) => span.resource['service.name'] === service);
  await receiver.waitFor(() => ours().length >= count, { description: `${count} spans of ${service}` });
  return ours();
}

function exceptionsOf(span: ReceivedSpan): [string, unknown, unknown][] {
  return span.events.map((event) => [
    event.name,
    event.attributes['exception.type'],
    event.attributes['exception.message'],
  ]);
}

/** What a process printed on its way out, without stack frames: those of the agent's wrappers differ. */
function withoutStackFrames(stderr: string): string {
  return stderr
    .split('\n')
    .filter((line) => !/^\s+at /.test(line))
    .join('\n');
}

/** The client span of the unhandled stream: ended with the status the client received, and its error. */
function assertUnhandledClientSpan(spans: readonly ReceivedSpan[], where: string): void {
  const client = spanOf(spans, SpanKind.CLIENT, 'unhandled');
  assert.equal(client.name, 'proto.KV/Watch', where);
  assert.equal(client.attributes['rpc.grpc.status_code'], 13, where);
  assert.deepEqual(client.status, { code: StatusCode.ERROR, message: 'INTERNAL: watch broke' }, where);
  assert.deepEqual(exceptionsOf(client), [['exception', 'Error', '13 INTERNAL: watch broke']], where);
}

describe('gRPC errors, end to end', { concurrency: true }, () => {
  for (const row of AGENT_RUNS) {
    const app = row.format === 'esm' ? 'ESM app' : 'CommonJS app';
    describe(`${row.runtime} (${VERSIONS[row.runtime]}) ${row.loader.name}, ${app}`, { concurrency: 1 }, () => {
      for (const grpcJs of GRPC_JS) {
        test(`grpc-js ${grpcJs.version}: each server span records the exception its handler gave: streams that emit an error, plain status objects, classes`, async () => {
          const receiver = await startOtlpReceiver();
          try {
            const { run, service } = await runErrorsApp(row, grpcJs, receiver, 'handled');
            assert.equal(run.exitCode, 0, describeRun(run));
            assert.deepEqual(lastJsonLine(run), RESULTS, run.command);
            assert.ok(!run.stderr.includes('rpcplugin-telemetry'), describeRun(run));
            const steps = Object.keys(SERVER_ERRORS);
            const spans = await spansOf(receiver, service, 2 * steps.length);
            for (const step of steps) {
              const expected = SERVER_ERRORS[step] as ServerError;
              const where = `${step}\n${run.command}`;
              const server = spanOf(spans, SpanKind.SERVER, step);
              assert.deepEqual(server.status, { code: StatusCode.ERROR, message: expected.status }, where);
              assert.deepEqual(exceptionsOf(server), [['exception', expected.type, expected.message]], where);
              // The client's exception is the error grpc-js gave the client: an Error.
              const client = spanOf(spans, SpanKind.CLIENT, step);
              assert.deepEqual(client.status, { code: StatusCode.ERROR, message: expected.status }, where);
              assert.deepEqual(
                exceptionsOf(client).map(([name, type]) => [name, type]),
                [['exception', 'Error']],
                where,
              );
            }
          } finally {
            await receiver.close();
          }
        });

        test(`grpc-js ${grpcJs.version}: a client stream whose 'error' nobody handles: the app's uncaughtException handler sees it as without the agent, and the client span ends with the error`, async () => {
          const receiver = await startOtlpReceiver();
          try {
            const [{ run, service }, { run: bare }] = await Promise.all([
              runErrorsApp(row, grpcJs, receiver, 'unhandled'),
              runErrorsApp(row, grpcJs, undefined, 'unhandled'),
            ]);
            assert.equal(bare.exitCode, 70, `without the agent: ${describeRun(bare)}`);
            assert.equal(
              bare.stderr,
              'app: got unhandled/1\napp: uncaught 13 INTERNAL: watch broke\n',
              describeRun(bare),
            );
            assert.equal(run.exitCode, bare.exitCode, describeRun(run));
            assert.equal(run.signal, bare.signal, describeRun(run));
            assert.equal(run.stderr, bare.stderr, describeRun(run));
            // Exported at the natural exit that follows.
            const spans = await spansOf(receiver, service, 2);
            assertUnhandledClientSpan(spans, run.command);
            const server = spanOf(spans, SpanKind.SERVER, 'unhandled');
            assert.deepEqual(exceptionsOf(server), [['exception', 'Error', 'watch broke']], run.command);
          } finally {
            await receiver.close();
          }
        });
      }

      describe(`grpc-js ${NEWEST.version}: the same stream when the app has no uncaughtException handler: the process dies of the error`, () => {
        let receiver: OtlpReceiver;
        let run: RunResult;
        let bare: RunResult;
        let service: string;
        test('same exit code and the same message on stderr as without the agent', async () => {
          receiver = await startOtlpReceiver();
          [{ run, service }, { run: bare }] = await Promise.all([
            runErrorsApp(row, NEWEST, receiver, 'unhandled-dies'),
            runErrorsApp(row, NEWEST, undefined, 'unhandled-dies'),
          ]);
          assert.equal(bare.exitCode, 1, `without the agent: ${describeRun(bare)}`);
          assert.match(bare.stderr, /13 INTERNAL: watch broke/, describeRun(bare));
          assert.equal(run.exitCode, bare.exitCode, describeRun(run));
          assert.equal(run.signal, bare.signal, describeRun(run));
          assert.equal(withoutStackFrames(run.stderr), withoutStackFrames(bare.stderr), describeRun(run));
        });

        // Exported by the flush at a fatal error (on Deno 2.9 no 'exit' event follows one).
        test('the client span arrives, ended with the error', async () => {
          try {
            const spans = await spansOf(receiver, service, 2);
            assertUnhandledClientSpan(spans, run.command);
          } finally {
            await receiver.close();
          }
        });
      });
    });
  }
});
