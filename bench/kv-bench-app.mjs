// The app the gRPC benchmark measures: a plain @grpc/grpc-js app, no OpenTelemetry code of its own.
// BENCH_ROLE=server serves KV (examples/kv-plugin/proto/kv.proto, through the tests' link to it) on 127.0.0.1 and prints a go-plugin handshake line;
// BENCH_ROLE=client calls the server at BENCH_ADDRESS from BENCH_CONCURRENCY loops for
// BENCH_WARMUP_MS, then counts for BENCH_DURATION_MS, and prints {"calls", "messages", "seconds",
// "cpuSeconds"} (the process's CPU time in that window); BENCH_ROLE=both is server and client in one
// process (BENCH_ADDRESS unset), where CPU time per call is the whole cost of a call, both sides.
// BENCH_KIND=unary makes Get calls; BENCH_KIND=stream makes Watch calls of BENCH_STREAM_MESSAGES events;
// BENCH_KIND=latency makes Get calls one at a time (BENCH_CONCURRENCY is ignored), times each in the
// client with performance.now() and adds "p50Us" and "p99Us" (nearest rank, µs) to the JSON.
import { fileURLToPath } from 'node:url';
import { credentials, loadPackageDefinition, Server, ServerCredentials } from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const env = process.env;
const proto = loadPackageDefinition(
  protoLoader.loadSync(fileURLToPath(new URL('../test/fixtures/grpc/kv.proto', import.meta.url))),
).proto;
const VALUE = Buffer.from('value');

function serve() {
  const server = new Server();
  server.addService(proto.KV.service, {
    Get(_call, callback) {
      callback(null, { value: VALUE });
    },
    Put(_call, callback) {
      callback(null, {});
    },
    Watch(call) {
      const { prefix, count } = call.request;
      for (let seq = 1; seq <= count; seq++) call.write({ key: prefix, value: VALUE, seq });
      call.end();
    },
  });
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) =>
      error ? reject(error) : resolve({ server, address: `127.0.0.1:${port}` }),
    ),
  );
}

if (env.BENCH_ROLE === 'server') {
  const { address } = await serve();
  process.stdout.write(`1|1|tcp|${address}|grpc\n`);
} else {
  const local = env.BENCH_ROLE === 'both' ? await serve() : undefined;
  const client = new proto.KV(local?.address ?? env.BENCH_ADDRESS, credentials.createInsecure());
  const kind = env.BENCH_KIND ?? 'unary';
  const concurrency = kind === 'latency' ? 1 : Number(env.BENCH_CONCURRENCY ?? 32);
  const warmupMs = Number(env.BENCH_WARMUP_MS ?? 1000);
  const durationMs = Number(env.BENCH_DURATION_MS ?? 3000);
  const streamMessages = Number(env.BENCH_STREAM_MESSAGES ?? 100);
  let counting = false;
  let stopping = false;
  let calls = 0;
  let messages = 0;
  /** Per-call times in ms, counted calls only (latency kind). */
  const times = [];

  const unary = () =>
    new Promise((resolve, reject) =>
      client.Get({ key: 'k' }, (error) => {
        if (error) return reject(error);
        if (counting) {
          calls++;
          messages++;
        }
        resolve();
      }),
    );
  const stream = () =>
    new Promise((resolve, reject) => {
      const call = client.Watch({ prefix: 'k', count: streamMessages });
      call.on('data', () => {
        if (counting) messages++;
      });
      call.on('error', reject);
      call.on('end', () => {
        if (counting) calls++;
        resolve();
      });
    });
  const timed = async () => {
    const started = performance.now();
    await unary();
    if (counting) times.push(performance.now() - started);
  };
  const one = kind === 'stream' ? stream : kind === 'latency' ? timed : unary;
  const loop = async () => {
    while (!stopping) await one();
  };

  const loops = Array.from({ length: concurrency }, loop);
  await new Promise((resolve) => setTimeout(resolve, warmupMs));
  counting = true;
  const started = performance.now();
  const cpu = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, durationMs));
  counting = false;
  const used = process.cpuUsage(cpu);
  const seconds = (performance.now() - started) / 1000;
  stopping = true;
  await Promise.all(loops);
  client.close();
  local?.server.forceShutdown();
  const cpuSeconds = (used.user + used.system) / 1e6;
  const result = { calls, messages, seconds, cpuSeconds };
  if (kind === 'latency') {
    times.sort((a, b) => a - b);
    const percentile = (p) => Math.round(times[Math.max(0, Math.ceil(p * times.length) - 1)] * 1000);
    Object.assign(result, { p50Us: percentile(0.5), p99Us: percentile(0.99) });
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
