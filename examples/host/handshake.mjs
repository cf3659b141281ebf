// The host's side of the go-plugin handshake: parse and check the plugin's one stdout line,
// `CORE|APP|network|address|grpc|cert[|mux]`, as go-plugin's client.go does.

export const CORE_PROTOCOL_VERSION = 1;

/** A handshake line the host cannot use; the message says what is wrong with it. */
export class HandshakeError extends Error {}

export function parseHandshake(line, { appVersions, autoMtls = false }) {
  const fields = line.split('|');
  const fail = (why) => {
    throw new HandshakeError(`unusable handshake line ${JSON.stringify(line)}: ${why}`);
  };
  if (fields.length !== 6 && fields.length !== 7) fail(`${fields.length} fields, expected 6 or 7`);
  const [core, app, network, address, protocol, cert, mux] = fields;
  if (core !== String(CORE_PROTOCOL_VERSION)) fail(`core protocol ${core}, this host speaks ${CORE_PROTOCOL_VERSION}`);
  const appVersion = Number(app);
  if (!appVersions.includes(appVersion)) fail(`app protocol ${app}, this host speaks ${appVersions.join(', ')}`);
  if (network !== 'unix' && network !== 'tcp') fail(`network ${network}, expected unix or tcp`);
  if (address === '') fail('empty address');
  if (protocol !== 'grpc') fail(`protocol ${protocol}, this host speaks grpc`);
  if (autoMtls && cert === '') fail('no certificate, but this host asked for AutoMTLS (PLUGIN_CLIENT_CERT)');
  if (!autoMtls && cert !== '') fail('the plugin sent a TLS certificate, but this host did not ask for AutoMTLS');
  const serverCertificate = cert === '' ? undefined : Buffer.from(cert, 'base64');
  if (mux !== undefined && mux !== 'true' && mux !== 'false') fail(`multiplexing field ${mux}, expected true or false`);
  return { appVersion, network, address, serverCertificate, multiplex: mux === 'true' };
}

/** The grpc-js target for the plugin's address. */
export function grpcTarget({ network, address }) {
  return network === 'unix' ? `unix:${address}` : address;
}
