/**
 * The go-plugin handshake line a plugin prints on stdout once it listens:
 * `CORE-PROTOCOL-VERSION|APP-PROTOCOL-VERSION|NETWORK-TYPE|NETWORK-ADDR|PROTOCOL[|SERVER-CERT[|MUX]]`
 * (hashicorp/go-plugin server.go). Parsed here into what telemetry may say of it: versions,
 * transport, protocol, whether TLS and multiplexing are on. The address and the certificate are
 * not kept: the certificate is key material's companion and the address is high-cardinality.
 */

export interface Handshake {
  readonly coreProtocolVersion: number;
  readonly appProtocolVersion: number;
  readonly transport: 'unix' | 'tcp';
  /** `grpc` or `netrpc`. */
  readonly protocol: string;
  /** A sixth field that is not empty: the plugin's AutoMTLS certificate. */
  readonly tls: boolean;
  /** A seventh field `true`: PLUGIN_MULTIPLEX_GRPC multiplexing. */
  readonly multiplex: boolean;
}

const VERSION = /^\d+$/;

/** The handshake in `line` (without its line break), or undefined when the line is not one. */
export function parseHandshakeLine(line: string): Handshake | undefined {
  // go-plugin's client trims the line before splitting it (client.go).
  const fields = line.trim().split('|');
  if (fields.length < 5 || fields.length > 7) return undefined;
  const [core = '', app = '', transport, address = '', protocol = '', certificate = '', multiplex = ''] = fields;
  if (!VERSION.test(core) || !VERSION.test(app)) return undefined;
  if (transport !== 'unix' && transport !== 'tcp') return undefined;
  if (address === '' || protocol === '') return undefined;
  return {
    coreProtocolVersion: Number(core),
    appProtocolVersion: Number(app),
    transport,
    protocol,
    tls: certificate !== '',
    multiplex: multiplex === 'true',
  };
}
