'use strict';
// The HTTP client side of bench/http.mjs: a plain app with no OpenTelemetry code that makes GET
// requests to BENCH_TARGET from BENCH_CONCURRENCY loops (each: request, read the body, again) with
// fetch or node:http (BENCH_CLIENT), counts the requests completed in BENCH_DURATION_MS after
// BENCH_WARMUP_MS, and prints one JSON line: requests, seconds and the CPU time it used meanwhile.
// CommonJS: contrib's instrumentation-http sees node:http only through require (an ES module's
// import of it goes unseen without its loader hook), and the comparison is meant to measure it.
const http = require('node:http');

const target = process.env.BENCH_TARGET;
const client = process.env.BENCH_CLIENT ?? 'fetch';
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const warmupMs = Number(process.env.BENCH_WARMUP_MS ?? 1000);
const durationMs = Number(process.env.BENCH_DURATION_MS ?? 3000);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

const viaFetch = async () => {
  const response = await fetch(target);
  await response.arrayBuffer();
};
const viaHttp = () =>
  new Promise((resolve, reject) => {
    const request = http.get(target, { agent }, (response) => {
      response.resume();
      response.on('end', resolve);
      response.on('error', reject);
    });
    request.on('error', reject);
  });
const once = client === 'http' ? viaHttp : viaFetch;

let counting = false;
let stopped = false;
let requests = 0;
async function loop() {
  while (!stopped) {
    await once();
    if (counting) requests++;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const loops = Array.from({ length: concurrency }, loop);
  await sleep(warmupMs);
  counting = true;
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  await sleep(durationMs);
  counting = false;
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  stopped = true;
  await Promise.all(loops);
  agent.destroy();
  process.stdout.write(`${JSON.stringify({ requests, seconds, cpuMicros: cpu.user + cpu.system })}\n`);
}

main();
