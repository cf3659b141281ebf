/**
 * The example host (examples/host) drives the example go-plugin KV plugin (examples/kv-plugin) with
 * the plugin on Node, Bun and Deno, bare and with the built agent preloaded: the calls succeed, the
 * plugin stops through the controller with exit code 0, and under the agent the server spans of
 * every KV call reach a real OTLP receiver. The plugin's stdout is its handshake line alone, byte for
 * byte the same with and without the agent. AutoMTLS works with the plugin and the host on each
 * runtime's TLS stack, and the plugin refuses any certificate but the host's. The failures a person
 * meets: a plugin run without the host's cookie, no free port in the range, a plugin that never answers.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { closedPort, type OtlpReceiver, SpanKind, startOtlpReceiver } from './support/otlp-receiver.ts';
import {
  BUILT_PRELOAD,
  fixture,
  REPO_ROOT,
  RUNTIME_BINARIES,
  type RunResult,
  type RuntimeName,
  spawnCollect,
} from './support/runtimes.ts';

const HOST = join(REPO_ROOT, 'examples', 'host', 'main.mjs');
const PLUGIN = join(REPO_ROOT, 'examples', 'kv-plugin', 'main.mjs');
const PLUGIN_RUNTIMES: readonly RuntimeName[] = ['node20', 'bun', 'deno'];

/** The plugin command line on `runtime`, with the built agent preloaded the runtime's documented way. */
function pluginCommand(runtime: RuntimeName, agent: boolean, pluginArgs: readonly string[] = []): string[] {
  const preload = agent
    ? runtime === 'node20'
      ? ['--import', BUILT_PRELOAD.esm]
      : ['--preload', BUILT_PRELOAD.esm]
    : [];
  const runArgs = runtime === 'deno' ? ['run', '-A'] : [];
  return [RUNTIME_BINARIES[runtime], ...runArgs, ...preload, PLUGIN, ...pluginArgs];
}

function runHost(
  hostArgs: readonly string[],
  plugin: readonly string[],
  env: Record<string, string> = {},
  hostRuntime: RuntimeName = 'node20',
) {
  const runArgs = hostRuntime === 'deno' ? ['run', '-A'] : [];
  const args = [...runArgs, HOST, ...hostArgs, '--', ...plugin];
  return spawnCollect(RUNTIME_BINARIES[hostRuntime], args, { env, timeoutMs: 30_000 });
}

const RESULTS = [
  'health plugin = SERVING',
  'put greeting = hello',
  'put colour = blue',
  'get greeting = hello',
  'watch colour = blue (seq 2)',
  'watch greeting = hello (seq 1)',
];

function explain(result: RunResult): string {
  return `${result.command}\nexit ${result.exitCode}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

/** The host's stdout: the handshake line of a unix-socket plugin, then each result; returns the certificate field. */
function assertHostRun(result: RunResult): string {
  assert.equal(result.exitCode, 0, explain(result));
  const [handshake, ...results] = result.stdout.toString('utf8').trimEnd().split('\n');
  const fields = /^handshake: 1\|1\|unix\|\/\S+\/plugin\d+\|grpc\|([A-Za-z0-9+/]*)$/.exec(handshake ?? '');
  assert.ok(fields, explain(result));
  assert.deepEqual(results, RESULTS, explain(result));
  assert.match(result.stderr, /^host: plugin exited \(code 0\)$/m, explain(result));
  assert.doesNotMatch(result.stderr, /plugin stdout:|killing it/, explain(result));
  assert.match(result.stderr, /^plugin: \{.*"msg":"shutdown requested by the host"/m, explain(result));
  return fields[1] ?? '';
}

/** What go-plugin's generateCert makes: ECDSA P-521, CN and DNS name localhost, self-signed CA. */
function assertGoPluginCertificate(certificateDer: Buffer): void {
  const certificate = new X509Certificate(certificateDer);
  assert.equal(certificate.subject, 'O=HashiCorp\nCN=localhost');
  assert.equal(certificate.subjectAltName, 'DNS:localhost');
  assert.equal(certificate.ca, true);
  assert.equal(certificate.publicKey.asymmetricKeyDetails?.namedCurve, 'secp521r1');
  assert.ok(certificate.verify(certificate.publicKey), 'self-signed');
}

let receiver: OtlpReceiver;
before(async () => {
  receiver = await startOtlpReceiver();
});
after(() => receiver.close());

describe('the example host drives the example KV plugin', { concurrency: 2 }, () => {
  for (const runtime of PLUGIN_RUNTIMES) {
    test(`plugin on ${runtime}, bare: calls succeed, Shutdown ends it with code 0`, async () => {
      assert.equal(assertHostRun(await runHost([], pluginCommand(runtime, false))), '', 'no certificate');
    });

    test(`plugin on ${runtime}, AutoMTLS: the calls go over TLS with a go-plugin certificate`, async () => {
      const certificate = assertHostRun(await runHost(['--auto-mtls'], pluginCommand(runtime, false)));
      assert.doesNotMatch(certificate, /=/, 'base64 without padding');
      assertGoPluginCertificate(Buffer.from(certificate, 'base64'));
    });

    test(`plugin on ${runtime} under the agent: the same, and the KV server spans arrive`, async () => {
      const service = `kv-plugin-${runtime}`;
      const result = await runHost([], pluginCommand(runtime, true), {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_SERVICE_NAME: service,
      });
      assertHostRun(result);
      const names = ['proto.KV/Put', 'proto.KV/Get', 'proto.KV/Watch'];
      const spans = await receiver.waitForServiceSpans(service, names);
      for (const name of names) {
        const found = spans.filter((span) => span.name === name);
        assert.ok(found.length > 0, name);
        for (const span of found) assert.equal(span.kind, SpanKind.SERVER, `${name} kind`);
      }
      assert.equal(spans.filter((span) => span.name === 'proto.KV/Put').length, 2);
    });
  }
});

describe('the example host itself on Bun and Deno, plain and with AutoMTLS (their TLS clients)', () => {
  for (const hostRuntime of ['bun', 'deno'] as const) {
    test(`host on ${hostRuntime}, plugin on node20`, async () => {
      assert.equal(assertHostRun(await runHost([], pluginCommand('node20', false), {}, hostRuntime)), '');
    });
    test(`host on ${hostRuntime} with --auto-mtls, plugin on ${hostRuntime}`, async () => {
      const certificate = assertHostRun(
        await runHost(['--auto-mtls'], pluginCommand(hostRuntime, false), {}, hostRuntime),
      );
      assertGoPluginCertificate(Buffer.from(certificate, 'base64'));
    });
  }
});

describe("the plugin's stdout is its handshake line alone, the same with and without the agent", () => {
  for (const runtime of PLUGIN_RUNTIMES) {
    test(runtime, async () => {
      const port = await closedPort();
      const run = (agent: boolean) => {
        const [command, ...args] = pluginCommand(runtime, agent, ['--transport', 'tcp']);
        return spawnCollect(command as string, args, {
          env: {
            BASIC_PLUGIN: 'hello',
            PLUGIN_PROTOCOL_VERSIONS: '1',
            PLUGIN_MIN_PORT: String(port),
            PLUGIN_MAX_PORT: String(port),
            OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          },
          // Stopped at its first output; what it writes later is checked in the host runs above
          // (the host reports any later stdout line as `plugin stdout:`).
          onSpawn: (child) => child.stdout.on('data', () => child.kill('SIGKILL')),
        });
      };
      const bare = await run(false);
      const agent = await run(true);
      const expected = Buffer.from(`1|1|tcp|127.0.0.1:${port}|grpc|\n`);
      assert.deepEqual(bare.stdout, expected, explain(bare));
      assert.deepEqual(agent.stdout, expected, explain(agent));
    });
  }
});

/** A self-signed P-521 certificate for localhost, as a host's AutoMTLS one, made with the openssl command. */
function hostCertificate(dir: string, name: string): { key: Buffer; cert: Buffer } {
  const [key, cert] = [join(dir, `${name}.key`), join(dir, `${name}.crt`)];
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-521',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost',
      '-days',
      '1',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return { key: readFileSync(key), cert: readFileSync(cert) };
}

/** Runs the plugin with `env` until `use` (given its handshake line) is done, then kills it. */
async function withPlugin(runtime: RuntimeName, env: Record<string, string>, use: (line: string) => Promise<void>) {
  const [command, ...args] = pluginCommand(runtime, false);
  let child: ChildProcess | undefined;
  let handshake: (line: string) => void = () => {};
  const line = new Promise<string>((resolve) => {
    handshake = resolve;
  });
  const run = spawnCollect(command as string, args, {
    env: { BASIC_PLUGIN: 'hello', ...env },
    onSpawn: (spawned) => {
      child = spawned;
      let text = '';
      spawned.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        if (text.includes('\n')) handshake(text.slice(0, text.indexOf('\n')));
      });
    },
  });
  const ended = run.then((result) => Promise.reject(new Error(`the plugin ended first\n${explain(result)}`)));
  try {
    await use(await Promise.race([line, ended]));
  } finally {
    child?.kill('SIGKILL');
    await run.catch(() => undefined);
  }
}

/** Health.Check over TLS with `own` as the client certificate, trusting the certificate from the handshake line. */
function checkHealth(line: string, own: { key: Buffer; cert: Buffer }): Promise<string> {
  const [, , , address, , certificate] = line.split('|');
  const serverPem = new X509Certificate(Buffer.from(certificate ?? '', 'base64')).toString();
  const definition = protoLoader.loadSync('health.proto', {
    includeDirs: [join(REPO_ROOT, 'examples', 'kv-plugin', 'proto')],
    enums: String,
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  const { Health } = loaded.grpc.health.v1;
  const client = new Health(`unix:${address}`, grpc.credentials.createSsl(Buffer.from(serverPem), own.key, own.cert), {
    'grpc.ssl_target_name_override': 'localhost',
    'grpc.default_authority': 'localhost',
  });
  type Check = (
    request: { service: string },
    callback: (error: grpc.ServiceError | null, response: { status: string }) => void,
  ) => void;
  const check = client.Check as Check;
  return new Promise((resolve) => {
    check.call(client, { service: 'plugin' }, (error, response) => {
      client.close();
      resolve(error ? `error ${grpc.status[error.code]}` : response.status);
    });
  });
}

describe('AutoMTLS: the plugin answers only the host whose certificate is in PLUGIN_CLIENT_CERT', () => {
  let dir: string;
  let host: { key: Buffer; cert: Buffer };
  let stranger: { key: Buffer; cert: Buffer };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kv-plugin-mtls-'));
    host = hostCertificate(dir, 'host');
    stranger = hostCertificate(dir, 'stranger');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const runtime of PLUGIN_RUNTIMES) {
    test(runtime, async () => {
      await withPlugin(runtime, { PLUGIN_CLIENT_CERT: host.cert.toString('utf8') }, async (line) => {
        assert.equal(await checkHealth(line, stranger), 'error UNAVAILABLE', 'another certificate is refused');
        assert.equal(await checkHealth(line, host), 'SERVING', "the host's certificate is accepted");
      });
    });
  }
});

describe("the plugin honours the host's PLUGIN_* settings", () => {
  for (const runtime of PLUGIN_RUNTIMES) {
    test(`${runtime}: versions, socket directory and group`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'kv-plugin-sockets-'));
      const gid = process.getgid?.() ?? 0;
      let mode = 0;
      let group = -1;
      try {
        const [command, ...args] = pluginCommand(runtime, false);
        const result = await spawnCollect(command as string, args, {
          env: {
            BASIC_PLUGIN: 'hello',
            PLUGIN_PROTOCOL_VERSIONS: '3,x,1',
            PLUGIN_UNIX_SOCKET_DIR: dir,
            PLUGIN_UNIX_SOCKET_GROUP: String(gid),
          },
          onSpawn: (child) =>
            child.stdout.on('data', (chunk: Buffer) => {
              const socket = chunk.toString('utf8').split('|')[3] ?? '';
              ({ mode, gid: group } = statSync(socket));
              child.kill('SIGKILL');
            }),
        });
        const line = result.stdout.toString('utf8');
        assert.match(line, new RegExp(`^1\\|1\\|unix\\|${dir}/plugin\\d+\\|grpc\\|\n$`), explain(result));
        assert.match(result.stderr, /PLUGIN_PROTOCOL_VERSIONS: ignoring \\"x\\", not an integer/, explain(result));
        assert.equal(mode & 0o777, 0o660, 'group-writable socket');
        assert.equal(group, gid);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

const NOT_A_PROGRAM =
  'This binary is a plugin. These are not meant to be executed directly.\n' +
  'Please execute the program that consumes these plugins, which will\n' +
  'load any plugins automatically\n';

describe('run by a person, without the cookie, the plugin says it is a plugin and exits 1', () => {
  for (const runtime of PLUGIN_RUNTIMES) {
    for (const cookie of [undefined, 'wrong']) {
      test(`${runtime}, cookie ${cookie ?? 'missing'}`, async () => {
        const [command, ...args] = pluginCommand(runtime, false);
        const result = await spawnCollect(command as string, args, {
          env: cookie === undefined ? {} : { BASIC_PLUGIN: cookie },
        });
        assert.equal(result.exitCode, 1, explain(result));
        assert.equal(result.stderr, NOT_A_PROGRAM, explain(result));
        assert.equal(result.stdout.length, 0, explain(result));
      });
    }
  }
});

describe('failures the host reports clearly, without hanging', () => {
  let taken: Server;
  let takenPort: number;
  before(async () => {
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    takenPort = (taken.address() as { port: number }).port;
  });
  after(() => taken.close());

  test('no free port in PLUGIN_MIN_PORT..PLUGIN_MAX_PORT: the plugin says so and exits 1', async () => {
    const range = ['--min-port', String(takenPort), '--max-port', String(takenPort)];
    const result = await runHost(range, pluginCommand('node20', false, ['--transport', 'tcp']));
    assert.equal(result.exitCode, 1, explain(result));
    assert.ok(
      result.stderr.includes(
        `no free TCP port on 127.0.0.1 between PLUGIN_MIN_PORT=${takenPort} and PLUGIN_MAX_PORT=${takenPort}`,
      ),
      explain(result),
    );
    assert.match(result.stderr, /^host: the plugin exited \(code 1\) before its handshake line: /m, explain(result));
    assert.doesNotMatch(result.stderr, /No address added/, 'grpc-js noise for the taken port');
    assert.equal(result.stdout.length, 0, explain(result));
  });

  test('a plugin that prints no handshake line: the host gives up after its timeout and kills it', async () => {
    const silent = fixture(join('examples', 'silent-plugin.mjs'));
    const result = await runHost(['--handshake-timeout', '300'], [process.execPath, silent]);
    assert.equal(result.exitCode, 1, explain(result));
    assert.equal(
      result.stderr,
      `host: the plugin printed no handshake line within 300 ms: ${process.execPath} ${silent}\n`,
      explain(result),
    );
    assert.equal(result.stdout.length, 0, explain(result));
  });
});
