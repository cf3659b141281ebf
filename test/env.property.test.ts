/**
 * Properties of loadConfig over arbitrary environments: it never throws, its Config keeps the rules
 * that join variables, and no secret it was given comes back out in a message or in the settings
 * that `rpcplugin-telemetry env` prints.
 *
 * Seeds are random: a failure prints the seed and the shrunk environment, to replay with
 * `fc.assert(…, { seed, path })`.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  describeProblem,
  type EnvSource,
  formatProblemReport,
  type LoadedConfig,
  loadConfig,
  MESSAGE_PREFIX,
  VARIABLE_NAMES,
  type VariableName,
} from '../src/env/index.ts';

const RUNS = 300;
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const members = (count: number) => Array.from({ length: count }, (_, index) => `k${index}=v`).join(',');

// ---------------------------------------------------------------------------------------------
// Arbitrary environments

const VALID_LOOKING = [
  'true',
  'FALSE',
  'grpc',
  'http/json',
  'http://collector:4318',
  'https://gateway.example/otlp/',
  'tracecontext,baggage',
  'none',
  'b3, none',
  'otlp,console',
  'prometheus',
  '0',
  '100',
  '2048',
  '0.5',
  '1e-3',
  TRACEPARENT,
  'congo=t61rcWkgMzE',
  'a=b,c=d',
  'api-key=abc',
  'x-request-id',
  'BASIC_PLUGIN',
  'plugin',
  'auto',
  'rpc/dup',
  'http/dup',
  'debug',
  'lowmemory',
  'gzip',
  '/etc/ssl/ca.pem',
];

const INVALID = [
  'yes',
  '-1',
  '1.5',
  'abc',
  '99999999999999999999',
  'NaN',
  'ftp://collector',
  'collector:4318',
  'http://collector:99999',
  '=',
  ',',
  '=,=',
  'none,none,x',
  '%',
  '%zz',
  'a=%zz',
  'a=%E0%A4%A',
  'ff-00-00',
  `00-${'0'.repeat(32)}-${'0'.repeat(16)}-00`,
  members(200),
  // Lone surrogates: process.env never holds them, but loadConfig takes any object.
  'a=\uD800',
  'api.token=x\uDC00',
  '\uD83D',
];

const HUGE = [
  `${'1'.repeat(100_000)}x`,
  `0.${'1'.repeat(100_000)}x`,
  'a='.repeat(40_000),
  ','.repeat(100_000),
  '%'.repeat(50_000),
  `http://${'a'.repeat(100_000)}`,
  `http://user:${'p'.repeat(50_000)}@host`,
  '@'.repeat(50_000),
  'k=v;'.repeat(20_000),
  '/'.repeat(100_000),
];

const WHITESPACE = ['', ' ', '\t', '\n ', '\u00a0', '\ufeff', '\u2028', ' \r\n\t '];

const TOKENS = [
  '%',
  '%2',
  '%zz',
  '%20',
  '%E0%A4%A',
  '%F0%9F%92%A9',
  '\uD800',
  'a',
  '0',
  '=',
  ',',
  ';',
  ' ',
  '@',
  '/',
  ':',
  'none',
];

const value: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constantFrom(...VALID_LOOKING),
  fc.constantFrom(...INVALID),
  fc.constantFrom(...WHITESPACE),
  fc.constantFrom(...HUGE),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: fc.constantFrom(...TOKENS), maxLength: 30 }),
  fc.integer().map(String),
  fc.double().map(String),
  fc.constant(undefined),
);

const OTHER_NAMES = ['PLUGIN_MIN_PORT', 'PLUGIN_PROTOCOL_VERSIONS', 'PLUGIN_MAGIC_COOKIE', 'BASIC_PLUGIN', 'PATH'];

const name: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...VARIABLE_NAMES) },
  { weight: 1, arbitrary: fc.constantFrom(...OTHER_NAMES) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);

const environment: fc.Arbitrary<Record<string, string | undefined>> = fc
  .array(fc.tuple(name, value), { maxLength: 30 })
  .map((entries) => Object.fromEntries(entries));

// ---------------------------------------------------------------------------------------------

function isHttpUrl(text: string): boolean {
  return URL.canParse(text) && /^https?:$/.test(new URL(text).protocol);
}

describe('loadConfig over arbitrary environments', () => {
  test('never throws, and keeps the rules that join variables', () => {
    fc.assert(
      fc.property(environment, fc.boolean(), (env, filesExist) => {
        const loaded = loadConfig(env, { fileExists: () => filesExist });
        const { config, problems, settings } = loaded;

        assert.deepEqual(
          settings.map((setting) => setting.name),
          VARIABLE_NAMES,
        );
        for (const problem of problems) assert.ok(VARIABLE_NAMES.includes(problem.variable as VariableName));
        const report = formatProblemReport(problems, true);
        if (problems.length > 0) {
          const lines = report.trimEnd().split('\n');
          assert.ok(lines.every((line) => line.startsWith(`${MESSAGE_PREFIX} `)));
          assert.ok(lines.length >= problems.length + 1);
        } else {
          assert.equal(report, '');
        }

        for (const signal of ['traces', 'metrics', 'logs'] as const) {
          assert.ok(isHttpUrl(config[signal].otlp.endpoint), config[signal].otlp.endpoint);
          assert.ok(config[signal].otlp.timeoutMs >= 0);
        }
        for (const batch of [config.traces.batch, config.logs.batch]) {
          assert.ok(batch.maxExportBatchSize >= 1 && batch.maxExportBatchSize <= batch.maxQueueSize);
        }
        assert.ok(config.metrics.exportTimeoutMs <= config.metrics.exportIntervalMs);
        assert.ok(config.sampler.ratio >= 0 && config.sampler.ratio <= 1);
        assert.ok(!(config.propagators as readonly string[]).includes('none'));
        if (config.parentContext.traceparent === undefined) assert.equal(config.parentContext.tracestate, undefined);

        // Pure: the same environment gives the same result.
        assert.deepEqual(loadConfig(env, { fileExists: () => filesExist }), loaded);
      }),
      { numRuns: RUNS },
    );
  });

  test('never throws with the default file checker', () => {
    const fileVariables = VARIABLE_NAMES.filter((variable) => /CERTIFICATE|CLIENT_KEY/.test(variable));
    const path = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.constantFrom('/', '/etc/hosts', '/etc/hosts/ca.pem', '/proc/self/fd/0', `/${'a'.repeat(5000)}`, 'a\0b', '.'),
    );
    fc.assert(
      fc.property(fc.constantFrom(...fileVariables), path, (variable, file) => {
        const { config } = loadConfig({ [variable]: file });
        assert.equal(typeof config.enabled, 'boolean');
      }),
      { numRuns: RUNS },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Secrets: each placed with a distinctive marker that must not come back out.

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const marker = fc
  .string({ unit: fc.constantFrom(...ALNUM), minLength: 8, maxLength: 16 })
  .map((suffix) => `S3CR3T${suffix}`);

interface Placement {
  readonly marker: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The magic cookie is never part of the Config either. */
  readonly absentFromConfig?: boolean;
}

// The OTLP headers variables hold name=value pairs; the capture variables hold names only, and a
// value written into one of those (`api-key=…`, as in the OTLP variables) is hidden too.
const HEADER_VARIABLES = VARIABLE_NAMES.filter(
  (variable) => variable.startsWith('OTEL_EXPORTER_OTLP_') && variable.endsWith('_HEADERS'),
);
const NAME_LIST_VARIABLES = VARIABLE_NAMES.filter(
  (variable) => variable.startsWith('RPCPLUGIN_') && variable.includes('_CAPTURE_'),
);
const ENDPOINT_VARIABLES = VARIABLE_NAMES.filter((variable) => variable.endsWith('_ENDPOINT'));

const HEADER_FORMS: readonly ((secret: string) => string)[] = [
  (secret) => `api-key=${secret}`,
  (secret) => `Authorization=Bearer%20${secret}`,
  (secret) => secret,
  (secret) => `bad key=${secret}`,
  (secret) => `x-a=1,${secret}`,
  (secret) => `=${secret}`,
  (secret) => `k=${secret}%zz`,
  (secret) => `(k)=${secret}`,
  (secret) => `${secret}=v`,
  (secret) => `k=${secret},k2`,
  (secret) => `x-tenant=t1, api-key = ${secret} `,
];

const NAME_LIST_FORMS: readonly ((secret: string) => string)[] = [
  (secret) => `api-key=${secret}`,
  (secret) => `x-a,authorization=Bearer%20${secret}`,
  (secret) => `bad key=${secret}`,
  (secret) => `=${secret}`,
  (secret) => `k=${secret},k2`,
  (secret) => `x-tenant, api-key = ${secret} `,
];

const nameLists = fc
  .tuple(fc.constantFrom(...NAME_LIST_VARIABLES), fc.constantFrom(...NAME_LIST_FORMS), marker)
  .map(([variable, form, secret]): Placement => ({ marker: secret, env: { [variable]: form(secret) } }));

const headers = fc
  .tuple(
    fc.constantFrom(...HEADER_VARIABLES),
    fc.constantFrom(...HEADER_FORMS),
    fc.constantFrom('', 'a=1,', ', ,'),
    marker,
  )
  .map(
    ([variable, form, prefix, secret]): Placement => ({ marker: secret, env: { [variable]: prefix + form(secret) } }),
  );

const SECRET_KEYS = [
  'api.token',
  'db_password',
  'x-api-key',
  'authorization',
  'Authorization',
  'deploy.TOKEN',
  'session_id',
  'client_secret',
  'private.key',
  'cookie',
  'aws.credentials',
  'jwt',
];

const KEY_VALUE_FORMS: readonly ((key: string, secret: string) => string)[] = [
  (key, secret) => `${key}=${secret}`,
  (key, secret) => ` ${key} = ${secret} `,
  (key, secret) => `${key}=${secret}%zz`,
  (key, secret) => `${key}=${secret},broken`,
  (key, secret) => `a=1,${key}=${secret}`,
  (key, secret) => `${key}=${secret}=more`,
  (key, secret) => `,${key}=${secret},=v`,
  (_key, secret) => `a=1,${secret}`,
  (_key, secret) => secret,
];

const resourceAttributes = fc
  .tuple(fc.constantFrom(...SECRET_KEYS), fc.constantFrom(...KEY_VALUE_FORMS), marker)
  .map(([key, form, secret]): Placement => ({ marker: secret, env: { OTEL_RESOURCE_ATTRIBUTES: form(key, secret) } }));

const MEMBER_FORMS: readonly ((key: string, secret: string) => string)[] = [
  ...KEY_VALUE_FORMS,
  (key, secret) => `${key}=${secret};prop=1`,
  (key, secret) => `user=alice;${key}=${secret}`,
  (key, secret) => `user=alice; ${key} = ${secret};flag`,
  (key, secret) => `${key}=${secret},bad member`,
  (key, secret) => `${members(181)},${key}=${secret}`,
];

const carriers = fc
  .tuple(
    fc.constantFrom('BAGGAGE', 'TRACESTATE'),
    fc.constantFrom(...SECRET_KEYS),
    fc.constantFrom(...MEMBER_FORMS),
    marker,
  )
  .map(
    ([variable, key, form, secret]): Placement => ({
      marker: secret,
      env: { [variable]: form(key, secret), TRACEPARENT },
    }),
  );

const SCHEMES = [
  'http://',
  'https://',
  'HTTP://',
  'grpc://',
  'ftp://',
  'ftp:',
  'http:',
  'http:\\\\',
  'foo://',
  'unix://',
];

const URL_FORMS: readonly ((scheme: string, secret: string) => string)[] = [
  (scheme, secret) => `${scheme}user:${secret}@host:4318`,
  (scheme, secret) => `${scheme}user:${secret}@collector.example/v1/traces`,
  (scheme, secret) => `${scheme}${secret}@host`,
  (scheme, secret) => `${scheme}user:${secret}@host:99999`,
  (scheme, secret) => `${scheme}user:${secret}@host/a@b`,
  (scheme, secret) => `${scheme}user:${secret}@@host`,
  (scheme, secret) => `${scheme}user:${secret}:x@host`,
  (scheme, secret) => `${scheme}user:${secret}@ho st`,
  (scheme, secret) => `${scheme}user:pa/ss${secret}@host`,
  (scheme, secret) => `${scheme}us er:${secret}@host`,
  (scheme, secret) => `${scheme}user:${secret}@[::1]:4318`,
];

const endpoints = fc
  .tuple(fc.constantFrom(...ENDPOINT_VARIABLES), fc.constantFrom(...SCHEMES), fc.constantFrom(...URL_FORMS), marker)
  .map(
    ([variable, scheme, form, secret]): Placement => ({ marker: secret, env: { [variable]: form(scheme, secret) } }),
  );

const cookieName = fc
  .stringMatching(/^[A-Z_][A-Z0-9_]{0,20}$/)
  .filter((candidate) => !(VARIABLE_NAMES as readonly string[]).includes(candidate));

/** The variable named by RPCPLUGIN_MAGIC_COOKIE_KEY, unset or empty meaning PLUGIN_MAGIC_COOKIE. */
const cookie = fc
  .tuple(
    fc.oneof(fc.constantFrom(undefined, '', '  ', 'PLUGIN_MAGIC_COOKIE', 'BASIC_PLUGIN', ' BASIC_PLUGIN '), cookieName),
    fc.constantFrom(
      (secret: string) => secret,
      (secret: string) => `  ${secret}  `,
      (secret: string) => `cookie=${secret}`,
    ),
    marker,
  )
  .map(([key, form, secret]): Placement => {
    const holder = key === undefined || key.trim() === '' ? 'PLUGIN_MAGIC_COOKIE' : key.trim();
    return {
      marker: secret,
      env: { RPCPLUGIN_MAGIC_COOKIE_KEY: key, [holder]: form(secret) },
      absentFromConfig: true,
    };
  });

const placement = fc.oneof(headers, nameLists, resourceAttributes, carriers, endpoints, cookie);

/** Every text the agent may print about its configuration. */
function printed(loaded: LoadedConfig): Record<string, string> {
  return {
    report: formatProblemReport(loaded.problems, true),
    settings: JSON.stringify(loaded.settings),
    problems: JSON.stringify(loaded.problems),
    ...Object.fromEntries(loaded.problems.map((problem, index) => [`problem ${index}`, describeProblem(problem)])),
  };
}

function assertNotEchoed(loaded: LoadedConfig, placements: readonly Placement[]): void {
  const texts = printed(loaded);
  for (const { marker: secret, absentFromConfig } of placements) {
    for (const [where, text] of Object.entries(texts)) {
      assert.ok(!text.includes(secret), `${secret} leaked in ${where}: ${text.slice(0, 2000)}`);
    }
    if (absentFromConfig) assert.ok(!JSON.stringify(loaded.config).includes(secret), `${secret} is in the config`);
  }
}

describe('secrets are never echoed', () => {
  test('one secret at a time, alone', () => {
    fc.assert(
      fc.property(placement, (one) => {
        assertNotEchoed(loadConfig(one.env as EnvSource), [one]);
      }),
      { numRuns: RUNS },
    );
  });

  test('several secrets among arbitrary other variables', () => {
    fc.assert(
      fc.property(environment, fc.array(placement, { minLength: 1, maxLength: 5 }), (noise, placements) => {
        const env: Record<string, string | undefined> = { ...noise };
        for (const { env: placed } of placements) Object.assign(env, placed);
        assertNotEchoed(loadConfig(env, { fileExists: () => true }), placements);
      }),
      { numRuns: RUNS },
    );
  });

  // The forms above, each checked once, so a failure names the form rather than a seed.
  test('every form, with a fixed marker', () => {
    const secret = 'S3CR3TfixedMarker42';
    const envs: EnvSource[] = [
      ...HEADER_VARIABLES.flatMap((variable) => HEADER_FORMS.map((form) => ({ [variable]: form(secret) }))),
      ...NAME_LIST_VARIABLES.flatMap((variable) => NAME_LIST_FORMS.map((form) => ({ [variable]: form(secret) }))),
      ...SECRET_KEYS.flatMap((key) => KEY_VALUE_FORMS.map((form) => ({ OTEL_RESOURCE_ATTRIBUTES: form(key, secret) }))),
      ...SECRET_KEYS.flatMap((key) => MEMBER_FORMS.map((form) => ({ BAGGAGE: form(key, secret) }))),
      ...SECRET_KEYS.flatMap((key) => MEMBER_FORMS.map((form) => ({ TRACESTATE: form(key, secret), TRACEPARENT }))),
      ...ENDPOINT_VARIABLES.flatMap((variable) =>
        SCHEMES.flatMap((scheme) => URL_FORMS.map((form) => ({ [variable]: form(scheme, secret) }))),
      ),
      { PLUGIN_MAGIC_COOKIE: secret },
      { RPCPLUGIN_MAGIC_COOKIE_KEY: 'BASIC_PLUGIN', BASIC_PLUGIN: secret },
    ];
    for (const env of envs) {
      const texts = printed(loadConfig(env, { fileExists: () => true }));
      for (const [where, text] of Object.entries(texts)) {
        assert.ok(!text.includes(secret), `${JSON.stringify(env).slice(0, 300)}: leaked in ${where}: ${text}`);
      }
    }
  });
});
