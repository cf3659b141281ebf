// Where the plugin listens, as go-plugin's serverListener decides: a unix socket in
// PLUGIN_UNIX_SOCKET_DIR (the temporary directory by default), group-writable for
// PLUGIN_UNIX_SOCKET_GROUP when set; or TCP on 127.0.0.1, the first free port in
// PLUGIN_MIN_PORT..PLUGIN_MAX_PORT (go-plugin uses TCP on Windows only; `--transport tcp` asks for it).
import { randomInt } from 'node:crypto';
import { chmodSync, chownSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import grpc from '@grpc/grpc-js';

/** A configuration or bind failure, with the message a person needs. */
export class ListenError extends Error {}

function bind(server, target, credentials) {
  return new Promise((resolve, reject) => {
    server.bindAsync(target, credentials, (error, port) => (error ? reject(error) : resolve(port)));
  });
}

function portFrom(env, name) {
  const text = env[name] ?? '';
  if (text === '') return 0;
  if (!/^\d+$/.test(text) || Number(text) > 65535) {
    throw new ListenError(`${name}=${JSON.stringify(text)} is not a port number (0-65535)`);
  }
  return Number(text);
}

/** Binds `server` on 127.0.0.1 at the first free port of the range; port 0 lets the system choose. */
export async function listenTcp(server, env, credentials = grpc.ServerCredentials.createInsecure()) {
  const min = portFrom(env, 'PLUGIN_MIN_PORT');
  const max = portFrom(env, 'PLUGIN_MAX_PORT');
  if (min > max) throw new ListenError(`PLUGIN_MIN_PORT (${min}) is greater than PLUGIN_MAX_PORT (${max})`);
  // grpc-js logs every failed bind at ERROR; a taken port is expected here, so quiet it meanwhile.
  grpc.setLogVerbosity(grpc.logVerbosity.NONE);
  try {
    for (let port = min; port <= max; port++) {
      try {
        const bound = await bind(server, `127.0.0.1:${port}`, credentials);
        return { network: 'tcp', address: `127.0.0.1:${bound}`, close() {} };
      } catch {
        // Taken: go-plugin tries the next one.
      }
    }
  } finally {
    grpc.setLogVerbosity(grpcVerbosityFromEnvironment());
  }
  throw new ListenError(
    `no free TCP port on 127.0.0.1 between PLUGIN_MIN_PORT=${min} and PLUGIN_MAX_PORT=${max}; ` +
      'widen the range or free a port in it',
  );
}

/** The log level grpc-js starts with: GRPC_VERBOSITY (DEBUG, INFO, ERROR or NONE), ERROR by default. */
function grpcVerbosityFromEnvironment() {
  return grpc.logVerbosity[(process.env.GRPC_VERBOSITY ?? '').toUpperCase()] ?? grpc.logVerbosity.ERROR;
}

/** The numeric id of a group given by id or by name (from /etc/group, as os/user does without cgo). */
function groupId(group) {
  if (/^\d+$/.test(group)) return Number(group);
  const entry = readFileSync('/etc/group', 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === group);
  if (entry === undefined || entry[2] === undefined) {
    throw new ListenError(`PLUGIN_UNIX_SOCKET_GROUP=${JSON.stringify(group)}: no such group`);
  }
  return Number(entry[2]);
}

/** Binds `server` on a fresh unix socket `plugin<digits>`; close() removes the socket file. */
export async function listenUnix(server, env, credentials = grpc.ServerCredentials.createInsecure()) {
  const directory = env.PLUGIN_UNIX_SOCKET_DIR || tmpdir();
  if (!existsSync(directory)) throw new ListenError(`PLUGIN_UNIX_SOCKET_DIR=${directory}: no such directory`);
  const path = join(directory, `plugin${randomInt(1e9)}`);
  try {
    await bind(server, `unix:${path}`, credentials);
  } catch (error) {
    throw new ListenError(`cannot listen on unix socket ${path}: ${error.message}`);
  }
  const group = env.PLUGIN_UNIX_SOCKET_GROUP ?? '';
  if (group !== '') {
    chownSync(path, -1, groupId(group));
    chmodSync(path, 0o660);
  }
  return { network: 'unix', address: path, close: () => rmSync(path, { force: true }) };
}
