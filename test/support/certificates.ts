/**
 * A throwaway certificate authority with a server certificate for 127.0.0.1 and a client
 * certificate, made with the openssl command (Debian's, on every machine here), for TLS tests.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificates {
  readonly dir: string;
  /** Paths of the PEM files. */
  readonly caCertificate: string;
  readonly serverKey: string;
  readonly serverCertificate: string;
  readonly clientKey: string;
  readonly clientCertificate: string;
  /** Their contents, for a server's options. */
  read(path: string): Buffer;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Issues `name`.key/.crt signed by the CA in `dir`, with the given subjectAltName (if any). */
function issue(dir: string, name: string, subject: string, altName?: string): void {
  openssl(
    dir,
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    subject,
  );
  const extensions = altName ? `subjectAltName=${altName}\n` : 'extendedKeyUsage=clientAuth\n';
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    `${name}.crt`,
    '-extfile',
    `${name}.ext`,
  );
}

export function makeTestCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'rpcplugin-telemetry-tls-'));
  openssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '2',
    '-subj',
    '/CN=rpcplugin-telemetry test CA',
  );
  issue(dir, 'server', '/CN=127.0.0.1', 'IP:127.0.0.1');
  issue(dir, 'client', '/CN=kv-plugin');
  return {
    dir,
    caCertificate: join(dir, 'ca.crt'),
    serverKey: join(dir, 'server.key'),
    serverCertificate: join(dir, 'server.crt'),
    clientKey: join(dir, 'client.key'),
    clientCertificate: join(dir, 'client.crt'),
    read: (path) => readFileSync(path),
  };
}
