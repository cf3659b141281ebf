// The example host: launches a go-plugin gRPC plugin, calls its proto.KV service, and stops it.
//   node examples/host/main.mjs [options] -- <plugin command...>
// Prints the handshake line and each result on stdout; the plugin's stderr comes out prefixed
// `plugin: ` on stderr. Exits 0 when every call succeeded and the plugin stopped by itself.
import process from 'node:process';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import grpc from '@grpc/grpc-js';
import { derToPem, generateCertificate } from '../kv-plugin/certificate.mjs';
import { loadServices } from '../kv-plugin/protos.mjs';
import { grpcTarget, HandshakeError } from './handshake.mjs';
import { launchPlugin } from './launch.mjs';

/** go-plugin's client waits 2 s after Shutdown before it kills the plugin. */
const SHUTDOWN_GRACE_MS = 2000;
/** How long after a failed call the host waits to learn whether the plugin died. */
const PLUGIN_DEATH_REPORT_MS = 500;

// The plugin command starts after `--`, or at the first word that is not an option: Bun drops a `--`
// that directly follows the script name, and its parseArgs reads options past `--`.
const argv = process.argv.slice(2);
let start = argv.indexOf('--') + 1;
if (start === 0) {
  const takesValue = (word) => /^--(handshake-timeout|min-port|max-port|cookie|watch-count)$/.test(word);
  while (start < argv.length && argv[start].startsWith('-')) start += takesValue(argv[start]) ? 2 : 1;
}
const { values } = parseArgs({
  args: argv.slice(0, argv[start - 1] === '--' ? start - 1 : start),
  options: {
    'handshake-timeout': { type: 'string', default: '60000' },
    'min-port': { type: 'string', default: '10000' },
    'max-port': { type: 'string', default: '25000' },
    cookie: { type: 'string', default: 'BASIC_PLUGIN=hello' },
    multiplex: { type: 'boolean', default: false },
    'auto-mtls': { type: 'boolean', default: false },
    'watch-count': { type: 'string', default: '2' },
  },
});
const [command, ...args] = argv.slice(start);
const separator = values.cookie.indexOf('=');
if (command === undefined || separator <= 0) {
  process.stderr.write(
    'usage: main.mjs [--handshake-timeout ms] [--min-port n] [--max-port n] [--cookie K=V] [--multiplex] [--auto-mtls] [--watch-count n] -- <plugin command...>\n',
  );
  process.exit(2);
}

const print = (text) => process.stdout.write(`${text}\n`);
const call = (client, method, request) =>
  new Promise((resolve, reject) =>
    client[method](request, (error, response) => (error ? reject(error) : resolve(response))),
  );

async function callKv(kv) {
  for (const [key, value] of [
    ['greeting', 'hello'],
    ['colour', 'blue'],
  ]) {
    await call(kv, 'Put', { key, value: Buffer.from(value) });
    print(`put ${key} = ${value}`);
  }
  const { value } = await call(kv, 'Get', { key: 'greeting' });
  print(`get greeting = ${Buffer.from(value).toString()}`);
  await new Promise((resolve, reject) => {
    // More events than the two Puts make keep the stream open: what a test needs to break it midway.
    const stream = kv.Watch({ prefix: '', count: Number(values['watch-count']) });
    stream.on('data', (event) =>
      print(`watch ${event.key} = ${Buffer.from(event.value).toString()} (seq ${event.seq})`),
    );
    stream.on('error', reject);
    stream.on('end', resolve);
  });
}

/** Shutdown through the controller; SIGKILL when the plugin has not exited SHUTDOWN_GRACE_MS later. */
async function stopPlugin(controller, plugin) {
  try {
    await call(controller, 'Shutdown', {});
  } catch (error) {
    // go-plugin ignores this too: the plugin may exit before its answer arrives.
    process.stderr.write(`host: Shutdown: ${error.details ?? error.message}\n`);
  }
  let timer;
  const grace = new Promise((resolve) => {
    timer = setTimeout(() => resolve(undefined), SHUTDOWN_GRACE_MS);
  });
  const exit = await Promise.race([plugin.exited, grace]);
  clearTimeout(timer);
  if (exit !== undefined) return exit;
  process.stderr.write(`host: the plugin did not exit within ${SHUTDOWN_GRACE_MS} ms of Shutdown; killing it\n`);
  plugin.child.kill('SIGKILL');
  return { ...(await plugin.exited), killed: true };
}

/**
 * The channel credentials: plain, or with AutoMTLS our certificate and key, trusting only the
 * certificate the plugin sent, whose name is `localhost` whatever the address.
 */
function channelSetup(handshake, own) {
  if (own === undefined) return { credentials: grpc.credentials.createInsecure(), options: {} };
  const credentials = grpc.credentials.createSsl(
    Buffer.from(derToPem(handshake.serverCertificate)),
    Buffer.from(own.keyPem),
    Buffer.from(own.certificatePem),
  );
  return {
    credentials,
    options: { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' },
  };
}

async function main() {
  const services = loadServices();
  const own = values['auto-mtls'] ? generateCertificate() : undefined;
  let plugin;
  try {
    plugin = await launchPlugin({
      command,
      args,
      cookie: { key: values.cookie.slice(0, separator), value: values.cookie.slice(separator + 1) },
      appVersions: [1],
      minPort: Number(values['min-port']),
      maxPort: Number(values['max-port']),
      multiplex: values.multiplex,
      clientCertificatePem: own?.certificatePem,
      timeoutMs: Number(values['handshake-timeout']),
      env: process.env,
    });
  } catch (error) {
    if (!(error instanceof HandshakeError)) throw error;
    process.stderr.write(`host: ${error.message}\n`);
    return 1;
  }
  print(`handshake: ${plugin.handshake.line}`);
  const target = grpcTarget(plugin.handshake);
  const { credentials, options } = channelSetup(plugin.handshake, own);
  const health = new services.health.Health(target, credentials, options);
  const kv = new services.kv.KV(target, credentials, options);
  const controller = new services.plugin.GRPCController(target, credentials, options);
  let failed = false;
  try {
    const { status } = await call(health, 'Check', { service: 'plugin' });
    print(`health plugin = ${status}`);
    await callKv(kv);
  } catch (error) {
    failed = true;
    process.stderr.write(`host: call failed: ${error.details ?? error.message}\n`);
  }
  // A call that failed because the plugin died: its exit is reported a moment after the lost
  // connection. Then there is nothing left to stop.
  const died = failed ? await Promise.race([plugin.exited, delay(PLUGIN_DEATH_REPORT_MS)]) : undefined;
  if (died !== undefined) {
    process.stderr.write(`host: the plugin died during the calls (${died.signal ?? `code ${died.code}`})\n`);
  }
  const exit = died ?? (await stopPlugin(controller, plugin));
  for (const client of [health, kv, controller]) client.close();
  process.stderr.write(`host: plugin exited (${exit.signal ?? `code ${exit.code}`})\n`);
  return failed || exit.killed || exit.code !== 0 ? 1 : 0;
}

process.exitCode = await main();
