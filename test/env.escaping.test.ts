/**
 * Text from the environment never reaches a terminal raw: every quoted value in a message, and every
 * value `rpcplugin-telemetry env` prints, has its control and invisible characters escaped the way
 * JSON escapes them (`\n`, `\u001b`, `\u007f`, `\u200b`), so no variable can send an escape sequence
 * or split a message over two lines. And a bad OTEL_RESOURCE_ATTRIBUTES entry is never quoted, as
 * the docs say.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import fc from 'fast-check';
import {
  describeProblem,
  type EnvSource,
  formatProblemReport,
  loadConfig,
  MESSAGE_PREFIX,
  printable,
  quote,
  VARIABLE_NAMES,
} from '../src/env/index.ts';
import { AGENT_RUNS, fixture, REPO_ROOT, runApp, runtimeVersions } from './support/runtimes.ts';

/** What must never be printed raw: controls (C0, DEL, C1), format characters, line/paragraph separators, lone surrogates. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;
/** Characters JSON.stringify leaves raw in a string, which quote() escapes too. */
const RAW_IN_JSON = /[\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}]/u;

const ESC = '\u001b';
const DEL = '\u007f';
const CSI = '\u009b'; // the C1 control some terminals read as ESC [

const messages = (env: EnvSource) => loadConfig(env).problems.map(describeProblem);

describe('quote()', () => {
  const anyText = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.string({
      unit: fc.constantFrom(
        ESC,
        DEL,
        CSI,
        '\n',
        '\r',
        '\t',
        '\u200b',
        '\u202e',
        '\u2028',
        '\ud800',
        '"',
        '\\',
        'a',
        'é',
        '😀',
      ),
    }),
  );

  test('gives JSON that reads back as the text, with no unprintable character', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const quoted = quote(text);
        assert.equal(JSON.parse(quoted), text);
        assert.doesNotMatch(quoted, UNPRINTABLE);
      }),
      { numRuns: 2000 },
    );
  });

  test('is JSON.stringify for text JSON already shows printably', () => {
    fc.assert(
      fc.property(
        anyText.filter((text) => !RAW_IN_JSON.test(text)),
        (text) => assert.equal(quote(text), JSON.stringify(text)),
      ),
      { numRuns: 2000 },
    );
  });

  test('the escapes, one of each kind', () => {
    assert.equal(
      quote(`a${ESC}[31m\n\r\t${DEL}${CSI}\u200b\u202e\u2028\ufeff\ud800"\\`),
      '"a\\u001b[31m\\n\\r\\t\\u007f\\u009b\\u200b\\u202e\\u2028\\ufeff\\ud800\\"\\\\"',
    );
    assert.equal(printable(`a${ESC}[31m\n"`), 'a\\u001b[31m\\n"');
  });
});

describe('messages escape what they quote, word for word', () => {
  const cases: readonly (readonly [EnvSource, string])[] = [
    [
      { OTEL_PROPAGATORS: `tracecontext,${ESC}[31mred` },
      'OTEL_PROPAGATORS="tracecontext,\\u001b[31mred" has an unknown entry "\\u001b[31mred", which is ignored. Accepted: a comma-separated list of tracecontext, baggage, b3, b3multi, jaeger, none (any case). Using tracecontext.',
    ],
    [
      { OTEL_EXPORTER_OTLP_COMPRESSION: `gzip${DEL}` },
      'OTEL_EXPORTER_OTLP_COMPRESSION="gzip\\u007f" is not a known value. Accepted: one of gzip, none (any case). Using the default none.',
    ],
    [
      { RPCPLUGIN_GRPC_CAPTURE_METADATA: 'x-id,bad\nkey' },
      'RPCPLUGIN_GRPC_CAPTURE_METADATA="x-id,bad\\nkey" has an entry "bad\\nkey" that is not a gRPC metadata key, which is ignored. Accepted: a comma-separated list of gRPC metadata keys (letters, digits, -, _ and .; any case). Using x-id.',
    ],
    [
      { OTEL_LOG_LEVEL: `${CSI}31m` },
      'OTEL_LOG_LEVEL="\\u009b31m" is not a known value. Accepted: one of none, error, warn, info, debug, verbose, all (any case). Using the default info.',
    ],
    [
      { OTEL_TRACES_SAMPLER: 'always_on\u202e\u200b' },
      'OTEL_TRACES_SAMPLER="always_on\\u202e\\u200b" is not a known value. Accepted: one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio (any case). Using the default parentbased_always_on.',
    ],
    [
      { OTEL_BSP_SCHEDULE_DELAY: '5\r\t000' },
      'OTEL_BSP_SCHEDULE_DELAY="5\\r\\t000" is not a whole number. Accepted: a whole number from 0 to 2147483647 (milliseconds). Using the default 5000.',
    ],
    [
      // The good entry's key is shown in "Using" as well, escaped there too.
      { OTEL_RESOURCE_ATTRIBUTES: `k${ESC}=v,broken` },
      'OTEL_RESOURCE_ATTRIBUTES="k\\u001b=v,[redacted]" has entry 2 without "=", which is ignored. Accepted: comma-separated key=value pairs, values percent-encoded. Using k\\u001b=v.',
    ],
  ];
  for (const [env, message] of cases) {
    test(message.slice(0, message.indexOf(' ')), () => assert.deepEqual(messages(env), [message]));
  }

  test('over arbitrary values: one prefixed line per problem, nothing unprintable', () => {
    const value = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.string({
        unit: fc.constantFrom(ESC, DEL, CSI, '\n', '\r', '\u2028', '\u202e', '=', ',', 'a', '%', 'none'),
        maxLength: 20,
      }),
    );
    const env = fc.dictionary(fc.constantFrom(...VARIABLE_NAMES), value, { maxKeys: 10 });
    fc.assert(
      fc.property(env, (generated) => {
        const { problems } = loadConfig(generated, { fileExists: () => false });
        const report = formatProblemReport(problems, true);
        if (problems.length === 0) return;
        const lines = report.slice(0, -1).split('\n');
        assert.equal(lines.length, problems.length + 1, report);
        for (const line of lines) {
          assert.ok(line.startsWith(`${MESSAGE_PREFIX} `), line);
          assert.doesNotMatch(line, UNPRINTABLE);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('bad OTEL_RESOURCE_ATTRIBUTES entries are never quoted', () => {
  test('an entry without "=", with an empty key or with bad percent-encoding is shown as [redacted]', () => {
    const { problems, settings } = loadConfig({
      OTEL_RESOURCE_ATTRIBUTES: 'team=kv, pasted-token-hidden1 ,=hidden2,k=hidden3%zz,k2=%E0%A4%A,tier=gold',
    });
    assert.deepEqual(problems.map(describeProblem), [
      'OTEL_RESOURCE_ATTRIBUTES="team=kv,[redacted],[redacted],[redacted],[redacted],tier=gold" has 4 bad entries, which are ignored: entry 2 without "=", entry 3 with an empty key, entry 4 with a value that is not valid percent-encoding and 1 more. Accepted: comma-separated key=value pairs, values percent-encoded. Using team=kv,tier=gold.',
    ]);
    assert.equal(settings.find((setting) => setting.name === 'OTEL_RESOURCE_ATTRIBUTES')?.value, 'team=kv,tier=gold');
  });

  test('with no good entry, the whole value is hidden entry by entry', () => {
    assert.deepEqual(messages({ OTEL_RESOURCE_ATTRIBUTES: 'k=hidden1%zz,=hidden2' }), [
      'OTEL_RESOURCE_ATTRIBUTES="[redacted],[redacted]" has no valid key=value entry. Accepted: comma-separated key=value pairs, values percent-encoded. Using the default (none).',
    ]);
  });
});

describe('rpcplugin-telemetry env prints nothing raw', () => {
  const cli = `${REPO_ROOT}/dist/cli.mjs`;
  const env = {
    PATH: process.env.PATH ?? '',
    // Wide enough for each row and problem to stay on one line.
    COLUMNS: '200',
    OTEL_SERVICE_NAME: `svc${ESC}[2J\nnext${DEL}${CSI}\u202e`,
    OTEL_PROPAGATORS: `b3,${ESC}]0;title\u0007`,
  };
  const runCli = async (args: string[]) =>
    (await promisify(execFile)(process.execPath, [cli, ...args], { env })).stdout;
  /** Every byte a terminal would act on, but the newlines that end lines. */
  const assertPrintable = (output: string) => {
    for (const line of output.split('\n')) assert.doesNotMatch(line, UNPRINTABLE, line);
  };

  test('the table escapes values and problems', async () => {
    const stdout = await runCli(['env']);
    assertPrintable(stdout);
    assert.match(stdout, /^ {2}OTEL_SERVICE_NAME +svc\\u001b\[2J\\nnext\\u007f\\u009b\\u202e +environment$/m);
    assert.match(
      stdout,
      /^ {2}- OTEL_PROPAGATORS="b3,\\u001b]0;title\\u0007" has an unknown entry "\\u001b]0;title\\u0007", which is ignored\. /m,
    );
  });

  test('--json escapes them too, and gives the exact values back', async () => {
    const stdout = await runCli(['env', '--json']);
    assertPrintable(stdout);
    const document = JSON.parse(stdout) as {
      settings: { name: string; value: string }[];
      problems: { value: string }[];
    };
    assert.equal(
      document.settings.find((setting) => setting.name === 'OTEL_SERVICE_NAME')?.value,
      env.OTEL_SERVICE_NAME,
    );
    assert.equal(document.problems[0]?.value, env.OTEL_PROPAGATORS);
  });
});

describe('through the preload, on every runtime', async () => {
  const versions = await runtimeVersions(new Set(AGENT_RUNS.map((row) => row.runtime)));
  const env = {
    OTEL_PROPAGATORS: `tracecontext,${ESC}[31mred`,
    OTEL_EXPORTER_OTLP_COMPRESSION: `gzip${DEL}`,
    RPCPLUGIN_GRPC_CAPTURE_METADATA: 'x-id,bad\nkey',
    // Only the configuration check is under test: no instrumentation, so nothing is exported at exit.
    RPCPLUGIN_INSTRUMENTATIONS: 'none',
  };
  const expected = [
    'rpcplugin-telemetry: OTEL_PROPAGATORS="tracecontext,\\u001b[31mred" has an unknown entry "\\u001b[31mred", which is ignored. Accepted: a comma-separated list of tracecontext, baggage, b3, b3multi, jaeger, none (any case). Using tracecontext.',
    'rpcplugin-telemetry: OTEL_EXPORTER_OTLP_COMPRESSION="gzip\\u007f" is not a known value. Accepted: one of gzip, none (any case). Using the default none.',
    'rpcplugin-telemetry: RPCPLUGIN_GRPC_CAPTURE_METADATA="x-id,bad\\nkey" has an entry "bad\\nkey" that is not a gRPC metadata key, which is ignored. Accepted: a comma-separated list of gRPC metadata keys (letters, digits, -, _ and .; any case). Using x-id.',
    'app: first line',
    'app: last line',
    '',
  ].join('\n');

  for (const row of AGENT_RUNS) {
    test(`${row.runtime} (${versions[row.runtime]}) ${row.loader.name}: ESC, DEL and a newline come out escaped, one line per problem`, async () => {
      const script = fixture(row.format === 'esm' ? 'app.mjs' : 'app.cjs');
      const run = await runApp({ runtime: row.runtime, loader: row.loader, script, env });
      assert.equal(run.exitCode, 0, run.command);
      assert.equal(run.stderr, expected);
      assert.doesNotMatch(run.stderr.replaceAll('\n', ''), UNPRINTABLE, 'a raw control character on stderr');
    });
  }
});
