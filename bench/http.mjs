// The agent's cost per outgoing HTTP request, against the same app without it and, on Node, against
// OpenTelemetry contrib's instrumentation-http and instrumentation-undici, side by side in one run.
//
//   npm run build && node bench/http.mjs [--runtimes node24,bun,deno] [--clients fetch,http]
//                                        [--rounds 3] [--duration 3000] [--warmup 1000] [--concurrency 16]
//                                        [--agent-env NAME=value,…] [--quick] [--results FILE]
//
// bench/http-bench-app.cjs makes GET requests to a local node:http server in this process, which
// answers "ok" at once; each measurement runs it bare, under the agent's preload (dist/register.mjs,
// default configuration, OTLP/HTTP to a local receiver that accepts everything) and, on Node, under
// bench/http-upstream-preload.cjs (contrib's instrumentations in NodeSDK, same receiver). Modes
// rotate their order from round to round. Reported per runtime, client and mode: the median of the
// requests per second, and of the client's CPU time per request (µs), whose difference to bare is
// the cost of one request's telemetry. With --results, its section of docs/benchmarks.md goes to
// FILE (bench/run.mjs); without it, the table is printed. --quick checks the plumbing (one short
// round). bench/README.md explains the figures.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  machineLine,
  median,
  parseAgentEnv,
  ROOT,
  runtimeCommands,
  runtimeVersion,
  selectRuntimes,
  today,
  writeResults,
} from './support.mjs';

const APP = join(ROOT, 'bench', 'http-bench-app.cjs');
const UPSTREAM = join(ROOT, 'bench', 'http-upstream-preload.cjs');
const PRELOAD = join(ROOT, 'dist', 'register.mjs');

const { values: given } = parseArgs({
  options: {
    runtimes: { type: 'string', default: 'node20,node22,node24,node26,bun,deno' },
    clients: { type: 'string', default: 'fetch,http' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    concurrency: { type: 'string', default: '16' },
    'agent-env': { type: 'string', default: '' },
    quick: { type: 'boolean', default: false },
    results: { type: 'string' },
  },
});
/** --quick checks the plumbing: one short round, unless given otherwise. */
const options = {
  ...given,
  rounds: given.rounds ?? (given.quick ? '1' : '3'),
  duration: given.duration ?? (given.quick ? '1000' : '3000'),
  warmup: given.warmup ?? (given.quick ? '500' : '1000'),
};
/** Extra variables for the agent's runs (`--agent-env RPCPLUGIN_INSTRUMENTATIONS=http,…`): to measure one part. */
const AGENT_ENV = parseAgentEnv(options['agent-env']);

const RUNTIMES = runtimeCommands(PRELOAD);
/** Contrib's preload is compared on the Node lines only, as before this file shared its runtime table. */
const modesOf = (runtime) => (runtime.startsWith('node') ? ['bare', 'agent', 'contrib'] : ['bare', 'agent']);
const argsOf = (runtime, mode) =>
  mode === 'contrib' ? ['--require', UPSTREAM] : RUNTIMES[runtime].args(mode === 'agent');

async function listen(handler) {
  const server = createServer(handler);
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${server.address().port}` };
}

/** The downstream service: answers every request at once. */
const target = await listen((request, response) => {
  request.resume();
  response.end('ok');
});
/** A collector stand-in: takes every export, answers 200 with an empty OTLP response. */
const received = { requests: 0 };
const receiver = await listen((request, response) => {
  request.resume();
  request.on('end', () => {
    received.requests++;
    response.writeHead(200, { 'Content-Type': 'application/x-protobuf', 'Content-Length': '0' }).end();
  });
});

function measure(runtime, client, mode) {
  const { command } = RUNTIMES[runtime];
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    NO_COLOR: '1',
    DENO_NO_UPDATE_CHECK: '1',
    BENCH_TARGET: `${target.url}/`,
    BENCH_CLIENT: client,
    BENCH_CONCURRENCY: options.concurrency,
    BENCH_WARMUP_MS: options.warmup,
    BENCH_DURATION_MS: options.duration,
    ...(mode === 'bare'
      ? {}
      : { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: `bench-http-${runtime}` }),
    ...(mode === 'agent' ? AGENT_ENV : {}),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...argsOf(runtime, mode), APP], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('close', (code) => {
      try {
        const { requests, seconds, cpuMicros } = JSON.parse(stdout.trim().split('\n').at(-1));
        resolve({ rate: requests / seconds, cpuPerRequest: cpuMicros / requests });
      } catch {
        reject(new Error(`${runtime} ${client} ${mode} ended (${code}) without a result:\n${stderr}`));
      }
    });
  });
}

const loadAtStart = loadavg()[0];
console.error(machineLine());
console.error(`settings: ${JSON.stringify(options)}`);

const rows = [];
for (const runtime of selectRuntimes(options.runtimes, RUNTIMES)) {
  const modes = modesOf(runtime);
  const name = await runtimeVersion(RUNTIMES[runtime].command);
  for (const client of options.clients.split(',')) {
    const results = Object.fromEntries(modes.map((mode) => [mode, []]));
    for (let round = 0; round < Number(options.rounds); round++) {
      // Each round starts with another mode, so that drift in the machine's speed falls on all alike.
      const order = modes.map((_, index) => modes[(index + round) % modes.length]);
      for (const mode of order) results[mode].push(await measure(runtime, client, mode));
    }
    const bare = median(results.bare.map((result) => result.cpuPerRequest));
    for (const mode of modes) {
      const cpuPerRequest = median(results[mode].map((result) => result.cpuPerRequest));
      rows.push({
        runtime: `${runtime} ${name}`,
        client,
        mode,
        rate: Math.round(median(results[mode].map((result) => result.rate))),
        cpuPerRequest: cpuPerRequest.toFixed(1),
        cost: mode === 'bare' ? '' : `${cpuPerRequest < bare ? '−' : '+'}${Math.abs(cpuPerRequest - bare).toFixed(1)}`,
      });
      console.error(
        `${runtime} ${client} ${mode}: ${results[mode].map((result) => result.cpuPerRequest.toFixed(1)).join(' ')} µs/request`,
      );
    }
  }
}

const lines = [
  '| runtime | client | mode | requests/s (median) | CPU µs per request (median) | cost per request vs bare (µs) |',
  '|---|---|---|---:|---:|---:|',
  ...rows.map(
    (row) => `| ${row.runtime} | ${row.client} | ${row.mode} | ${row.rate} | ${row.cpuPerRequest} | ${row.cost} |`,
  ),
  '',
  `The receiver took ${received.requests} export requests.`,
];
target.server.close();
receiver.server.close();

if (options.results) {
  const markdown = [
    '### HTTP client cost per request',
    '',
    `Measured on ${today()} (${machineLine().replace(/^machine: /, '')}; load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end${
      options.quick ? '; **a `--quick` run: it checks the plumbing, its figures are not measurements**' : ''
    }). Settings: ${options.rounds} round${options.rounds === '1' ? '' : 's'} × ${options.duration} ms (after ${options.warmup} ms warm-up), ${options.concurrency} requests in flight, GET to a local server answering \`ok\`, keep-alive. Modes: bare; agent (\`dist/register.mjs\`, default configuration${
      Object.keys(AGENT_ENV).length ? `, plus \`--agent-env ${options['agent-env']}\`` : ''
    }); contrib (\`instrumentation-undici\` and \`instrumentation-http\` in \`NodeSDK\`, \`bench/http-upstream-preload.cjs\`) on Node only: this benchmark does not run it on Bun and Deno. Each figure is the median of the rounds; each round starts with another mode. The cost is the client's CPU time per request minus bare's. [bench/README.md](../bench/README.md#http-client-cost-per-request-benchhttpmjs) explains the benchmark.`,
    '',
    ...lines,
    '',
  ].join('\n');
  writeResults(options.results, markdown);
  console.error(`http: results written to ${options.results}`);
} else {
  console.log(lines.join('\n'));
}
