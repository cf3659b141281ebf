// A throwaway certificate of the kind go-plugin's AutoMTLS makes (mtls.go generateCert): an ECDSA
// P-521 key, self-signed with SHA-512, CN and DNS name `localhost`, organisation HashiCorp, usable by
// client and server and as its own CA, valid from 30 s ago for 262980 hours. Node has no API to
// build an X.509 certificate, so it is encoded here in DER; the key pair and signature are node:crypto's.
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';

function length(n) {
  if (n < 0x80) return Buffer.from([n]);
  const bytes = [];
  for (let rest = n; rest > 0; rest >>= 8) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One DER element: tag, length, content. */
function der(tag, ...content) {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

const sequence = (...items) => der(0x30, ...items);
const set = (...items) => der(0x31, ...items);
const octets = (bytes) => der(0x04, bytes);
const bits = (bytes, unused = 0) => der(0x03, Buffer.from([unused]), bytes);
const printable = (text) => der(0x13, Buffer.from(text, 'ascii'));

function oid(dotted) {
  const [first, second, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * first + second];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let value = arc >>> 7; value > 0; value >>>= 7) chunk.unshift(0x80 | (value & 0x7f));
    bytes.push(...chunk);
  }
  return der(0x06, Buffer.from(bytes));
}

/**
 * A positive INTEGER from big-endian bytes, in DER's minimal form: no leading zero byte unless the
 * next byte's high bit needs it (Go's x509 rejects a serial number encoded otherwise).
 */
function integer(bytes) {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const minimal = bytes.subarray(start);
  return der(0x02, minimal[0] & 0x80 ? Buffer.concat([Buffer.from([0]), minimal]) : minimal);
}

/** UTCTime up to 2049, GeneralizedTime from 2050, as RFC 5280 requires. */
function time(date) {
  const text = date
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return date.getUTCFullYear() < 2050 ? der(0x17, Buffer.from(text.slice(2))) : der(0x18, Buffer.from(text));
}

function extension(id, critical, value) {
  return sequence(oid(id), ...(critical ? [der(0x01, Buffer.from([0xff]))] : []), octets(value));
}

const ECDSA_WITH_SHA512 = sequence(oid('1.2.840.10045.4.3.4'));

/** { certificatePem, keyPem, certificateDer } for a fresh go-plugin AutoMTLS certificate. */
export function generateCertificate(now = new Date()) {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-521' });
  const name = sequence(
    set(sequence(oid('2.5.4.10'), printable('HashiCorp'))),
    set(sequence(oid('2.5.4.3'), printable('localhost'))),
  );
  const tbs = sequence(
    der(0xa0, integer(Buffer.from([2]))),
    integer(randomBytes(16)),
    ECDSA_WITH_SHA512,
    name,
    sequence(time(new Date(now.getTime() - 30_000)), time(new Date(now.getTime() + 262_980 * 3600_000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    der(
      0xa3,
      sequence(
        // digitalSignature, keyEncipherment, keyAgreement, keyCertSign
        extension('2.5.29.15', true, bits(Buffer.from([0xac]), 2)),
        // clientAuth, serverAuth
        extension('2.5.29.37', false, sequence(oid('1.3.6.1.5.5.7.3.2'), oid('1.3.6.1.5.5.7.3.1'))),
        // CA:TRUE
        extension('2.5.29.19', true, sequence(der(0x01, Buffer.from([0xff])))),
        // DNS:localhost
        extension('2.5.29.17', false, sequence(der(0x82, Buffer.from('localhost')))),
      ),
    ),
  );
  const certificateDer = sequence(tbs, ECDSA_WITH_SHA512, bits(sign('sha512', tbs, privateKey)));
  return {
    certificateDer,
    certificatePem: derToPem(certificateDer),
    keyPem: privateKey.export({ type: 'sec1', format: 'pem' }),
  };
}

/** PEM for a DER certificate, 64 base64 characters a line. */
export function derToPem(certificateDer) {
  const lines = certificateDer.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
