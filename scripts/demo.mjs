#!/usr/bin/env node
// `npm run demo`: the example host launches the example KV plugin, both under the agent, and
// `rpcplugin-telemetry tail` (a local OTLP receiver, nothing to install) draws what they sent: one
// trace from the host's launch through the plugin's start and handshake to each KV call, client and
// server, with the plugin's pino lines under the spans they were written in.
//
//   npm run demo [-- --plugin-runtime node|bun|deno] [--html report.html]
//
// Needs `npm ci` first (it builds dist/). Bun and Deno come from this repository's devDependencies.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'cli.mjs');
// By absolute path: the host starts the plugin in its own working directory, where a bare
// `rpcplugin-telemetry/register` need not resolve (README: "Plugins launched by a host").
const PRELOAD = join(ROOT, 'dist', 'register.mjs');
const HOST = join(ROOT, 'examples', 'host', 'main.mjs');
const PLUGIN = join(ROOT, 'examples', 'kv-plugin', 'main.mjs');
const BIN = join(ROOT, 'node_modules', '.bin');
/** After the host exits: time for the last exports to arrive and for tail to close its traces. */
const SETTLE_MS = 1500;

const USAGE = `Usage: npm run demo [-- --plugin-runtime node|bun|deno] [--html FILE]

Runs the example host and KV plugin (examples/) under the agent and shows their telemetry with
rpcplugin-telemetry tail: one trace from the host's launch of the plugin to its shutdown.

  --plugin-runtime R   the runtime of the plugin: node (default), bun or deno
  --html FILE          also write tail's HTML report to FILE
  -h, --help           show this help
`;

function options() {
  try {
    const { values } = parseArgs({
      options: {
        'plugin-runtime': { type: 'string', default: 'node' },
        html: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (!['node', 'bun', 'deno'].includes(values['plugin-runtime'])) {
      throw new Error(`--plugin-runtime ${values['plugin-runtime']}: use node, bun or deno`);
    }
    return values;
  } catch (error) {
    process.stderr.write(`demo: ${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
}

/** The plugin's command line on `runtime`, the agent preloaded that runtime's way. */
function pluginCommand(runtime) {
  if (runtime === 'node') return [process.execPath, '--import', PRELOAD, PLUGIN];
  if (runtime === 'bun') return [join(BIN, 'bun'), '--preload', PRELOAD, PLUGIN];
  return [join(BIN, 'deno'), 'run', '-A', '--preload', PRELOAD, PLUGIN];
}

/** Starts tail on a free port; resolves with the child and its port once it listens. */
function startTail(html) {
  const args = [CLI, 'tail', '--port', '0', ...(html === undefined ? [] : ['--html', html])];
  const tail = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'pipe'] });
  return new Promise((resolvePort, reject) => {
    let stderr = '';
    tail.stderr.on('data', (chunk) => {
      stderr += chunk;
      const listening = /listening on http:\/\/\S+?:(\d+) /.exec(stderr);
      if (listening !== null) resolvePort({ tail, port: Number(listening[1]) });
    });
    tail.on('exit', (code) => reject(new Error(`tail exited (${code}) before listening:\n${stderr}`)));
  });
}

function exited(child) {
  return new Promise((done) => child.on('exit', (code, signal) => done({ code, signal })));
}

async function main() {
  const { 'plugin-runtime': runtime, html, help } = options();
  if (help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!existsSync(CLI) || !existsSync(PRELOAD)) {
    process.stderr.write('demo: dist/ is missing; run `npm ci` (or `npm run build`) first.\n');
    return 1;
  }
  const { tail, port } = await startTail(html);
  const tailExit = exited(tail);
  const plugin = ['/usr/bin/env', 'OTEL_SERVICE_NAME=kv-plugin', ...pluginCommand(runtime)];
  const hostArgs = ['--import', PRELOAD, HOST, '--', ...plugin];
  process.stdout.write(
    `demo: tail listens on http://localhost:${port}; the host (Node) launches the plugin (${runtime}), both under the agent:\n` +
      `  node --import ${PRELOAD} \\\n    examples/host/main.mjs -- ${plugin.join(' ')}\n\n`,
  );
  const host = spawn(process.execPath, hostArgs, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      OTEL_SERVICE_NAME: 'kv-host',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://localhost:${port}`,
      // Metrics at the end only (the exit sends them), so tail shows one summary per process.
      OTEL_METRIC_EXPORT_INTERVAL: '60000',
    },
  });
  let hostStderr = '';
  host.stdout.on('data', (chunk) => {
    for (const line of String(chunk).split('\n').filter(Boolean)) process.stdout.write(`host │ ${line}\n`);
  });
  host.stderr.on('data', (chunk) => {
    hostStderr += chunk;
  });
  const { code, signal } = await exited(host);
  await new Promise((settle) => setTimeout(settle, SETTLE_MS));
  process.stdout.write('\n');
  tail.kill('SIGINT');
  const tailResult = await tailExit;
  if (code !== 0) {
    process.stderr.write(`demo: the host failed (${signal ?? `exit code ${code}`}); its stderr:\n${hostStderr}`);
    return 1;
  }
  if (tailResult.code !== 0) {
    process.stderr.write(`demo: tail ended with ${tailResult.signal ?? `exit code ${tailResult.code}`}\n`);
    return 1;
  }
  if (html !== undefined) process.stdout.write(`demo: the HTML report is in ${resolve(html)}\n`);
  return 0;
}

main().then(
  (exitCode) => {
    process.exitCode = exitCode;
  },
  (error) => {
    process.stderr.write(`demo: ${error.message}\n`);
    process.exitCode = 1;
  },
);
