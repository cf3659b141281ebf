// The example KV plugin: serves proto.KV to a go-plugin host (see ../README.md).
//   node examples/kv-plugin/main.mjs [--transport unix|tcp] [--cookie KEY=VALUE]
// The host sets the cookie (BASIC_PLUGIN=hello by default) and the PLUGIN_* variables.
import process from 'node:process';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { kvService } from './kv-store.mjs';
import { servePlugin } from './serve.mjs';

const { values } = parseArgs({
  options: {
    transport: { type: 'string', default: process.platform === 'win32' ? 'tcp' : 'unix' },
    cookie: { type: 'string', default: 'BASIC_PLUGIN=hello' },
  },
});
const logger = pino({ name: 'kv-plugin', level: process.env.KV_PLUGIN_LOG_LEVEL ?? 'info' }, pino.destination(2));

const separator = values.cookie.indexOf('=');
if (separator <= 0 || !['unix', 'tcp'].includes(values.transport)) {
  process.stderr.write('usage: main.mjs [--transport unix|tcp] [--cookie KEY=VALUE]\n');
  process.exit(2);
}

await servePlugin({
  cookie: { key: values.cookie.slice(0, separator), value: values.cookie.slice(separator + 1) },
  versions: [1],
  transport: values.transport,
  logger,
  register: (server, definitions) => server.addService(definitions.kv.KV.service, kvService(logger)),
});
