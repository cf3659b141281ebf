// gRPC throughput with the agent against the same app without it, side by side in one run.
//
//   npm run build && node bench/grpc.mjs [--runtimes node20,node22,node24,node26,bun,deno] [--kinds unary,stream]
//                                         [--rounds 5] [--duration 3000] [--warmup 1000] [--concurrency 32]
//                                         [--stream-messages 100] [--preload dist/register.mjs]
//                                         [--agent-env NAME=value,…]
//
// Each measurement is a pair of processes, as a go-plugin host and its plugin are: bench/kv-bench-app.mjs
// as the server and as the client, both bare or both under the agent's preload (dist/register.mjs,
// default configuration, exporting over OTLP/HTTP to a local receiver that accepts everything).
// Rounds alternate the order (bare then agent, agent then bare) so that drift in the machine's speed
// falls on both alike. bench/README.md explains the figures; docs/benchmarks.md records them.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { machineLine, median, parseAgentEnv, ROOT, runtimeCommands, runtimeVersion } from './support.mjs';

const APP = join(ROOT, 'bench', 'kv-bench-app.mjs');

const { values: options } = parseArgs({
  options: {
    runtimes: { type: 'string', default: 'node20,node22,node24,node26,bun,deno' },
    kinds: { type: 'string', default: 'unary,stream' },
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '3000' },
    warmup: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '32' },
    'stream-messages': { type: 'string', default: '100' },
    preload: { type: 'string', default: join(ROOT, 'dist', 'register.mjs') },
    'agent-env': { type: 'string', default: '' },
  },
});
const AGENT_ENV = parseAgentEnv(options['agent-env']);

/** How each runtime runs the app, bare or with the preload. */
const RUNTIMES = runtimeCommands(options.preload);

/** A collector stand-in: takes every export, answers 200 with an empty OTLP response, counts them. */
async function startReceiver() {
  const received = { requests: 0, bytes: 0 };
  const server = createServer((request, response) => {
    request.on('data', (chunk) => {
      received.bytes += chunk.length;
    });
    request.on('end', () => {
      received.requests++;
      response.writeHead(200, { 'Content-Type': 'application/x-protobuf', 'Content-Length': '0' }).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, received, close: () => server.close() };
}

function start(runtime, agent, env) {
  const { command, args } = RUNTIMES[runtime];
  const base = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' };
  return spawn(command, [...args(agent), APP], {
    cwd: ROOT,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Resolves when the child has exited (at once if it already has). */
function ended(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', resolve));
}

function firstLine(child, what) {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const newline = stdout.indexOf('\n');
      if (newline !== -1) resolve(stdout.slice(0, newline));
    });
    child.on('close', (code) => reject(new Error(`${what} ended (${code}) before writing a line:\n${stderr}`)));
  });
}

/** One measurement: a server and a client, both bare or both with the agent. */
async function measure(runtime, kind, agent, receiverUrl) {
  const telemetry = agent
    ? { OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl, OTEL_SERVICE_NAME: `bench-${runtime}`, ...AGENT_ENV }
    : {};
  const server = start(runtime, agent, { ...telemetry, BENCH_ROLE: 'server' });
  try {
    const handshake = await firstLine(server, 'the server');
    const address = handshake.split('|')[3];
    const client = start(runtime, agent, {
      ...telemetry,
      BENCH_ROLE: 'client',
      BENCH_KIND: kind,
      BENCH_ADDRESS: address,
      BENCH_CONCURRENCY: options.concurrency,
      BENCH_WARMUP_MS: options.warmup,
      BENCH_DURATION_MS: options.duration,
      BENCH_STREAM_MESSAGES: options['stream-messages'],
    });
    const result = JSON.parse(await firstLine(client, 'the client'));
    await ended(client);
    return kind === 'unary' ? result.calls / result.seconds : result.messages / result.seconds;
  } finally {
    const closed = ended(server);
    server.kill('SIGTERM');
    await closed;
  }
}

const runtimes = options.runtimes.split(',');
const unknown = runtimes.filter((runtime) => !Object.hasOwn(RUNTIMES, runtime));
if (unknown.length > 0) {
  process.stderr.write(`unknown runtime ${unknown.join(', ')}; known: ${Object.keys(RUNTIMES).join(', ')}\n`);
  process.exit(2);
}
const kinds = options.kinds.split(',');
const rounds = Number(options.rounds);
const receiver = await startReceiver();

process.stderr.write(`${machineLine()}\n`);
process.stderr.write(
  `settings: ${rounds} rounds × ${options.duration} ms (after ${options.warmup} ms warm-up), ${options.concurrency} calls in flight, ${options['stream-messages']} messages per stream\n`,
);

const rows = [];
for (const runtime of runtimes) {
  const version = await runtimeVersion(RUNTIMES[runtime].command);
  for (const kind of kinds) {
    const samples = { bare: [], agent: [] };
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? [false, true] : [true, false];
      for (const agent of order) {
        const rate = await measure(runtime, kind, agent, receiver.url);
        samples[agent ? 'agent' : 'bare'].push(rate);
        process.stderr.write(
          `${runtime} ${kind} round ${round + 1} ${agent ? 'agent' : 'bare '}: ${rate.toFixed(0)}/s\n`,
        );
      }
    }
    const bare = median(samples.bare);
    const agent = median(samples.agent);
    const ratios = samples.agent.map((rate, index) => rate / samples.bare[index]);
    rows.push({ runtime: `${runtime} ${version}`, kind, bare, agent, ratio: agent / bare, ratios });
  }
}
receiver.close();

const unit = (kind) => (kind === 'unary' ? 'calls/s' : 'messages/s');
console.log(`| runtime | kind | bare (median) | agent (median) | agent / bare | per round |`);
console.log(`|---|---|---:|---:|---:|---|`);
for (const row of rows) {
  console.log(
    `| ${row.runtime} | ${row.kind} | ${row.bare.toFixed(0)} ${unit(row.kind)} | ${row.agent.toFixed(0)} ${unit(row.kind)} | **${row.ratio.toFixed(2)}** | ${row.ratios.map((ratio) => ratio.toFixed(2)).join(' ')} |`,
  );
}
console.log(
  `\n${receiver.received.requests} OTLP export requests received (${(receiver.received.bytes / 2 ** 20).toFixed(1)} MiB).`,
);
