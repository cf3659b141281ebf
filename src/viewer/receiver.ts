/**
 * An OTLP/HTTP receiver (https://opentelemetry.io/docs/specs/otlp/#otlphttp): POST /v1/traces,
 * /v1/metrics and /v1/logs, OTLP/protobuf or OTLP/JSON, gzip or not. It decodes each request and
 * hands it to `onExport`, which says how many items it rejected (partial success). It answers as the
 * spec says: 200 with an Export*ServiceResponse in the request's encoding, 400 with a Status for a
 * body that cannot be decoded, 413 above the size limit, 415 for another media type or encoding,
 * 404 and 405 for other paths and methods. Nothing a client sends can make it throw.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzip } from 'node:zlib';
import { decodeExportRequest } from './otlp-decode.ts';
import { exportResponse, type Rejection, statusBody } from './otlp-response.ts';
import { type DecodedRequest, type Encoding, MalformedRequest, type Signal } from './otlp-types.ts';

/** The OpenTelemetry Collector's default limit (confighttp max_request_body_size), before and after gunzip. */
export const DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024;

export const SIGNAL_PATHS: Readonly<Record<string, Signal>> = {
  '/v1/traces': 'traces',
  '/v1/metrics': 'metrics',
  '/v1/logs': 'logs',
};

const MEDIA_TYPES: Readonly<Record<string, Encoding>> = {
  'application/x-protobuf': 'protobuf',
  'application/protobuf': 'protobuf',
  'application/json': 'json',
};

const CONTENT_TYPES: Readonly<Record<Encoding, string>> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

export interface ReceiverOptions {
  maxBodyBytes?: number;
  /** Called with each decoded request; returns what it rejected of it. */
  onExport(signal: Signal, decoded: DecodedRequest): Rejection;
  /** Called for each refused request (status and reason), for the viewer to count or show. */
  onRefused?(status: number, reason: string): void;
}

class Refused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function createOtlpHttpServer(options: ReceiverOptions): Server {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  return createServer((request, response) => {
    handle(request, response, maxBodyBytes, options).catch((error: unknown) => {
      // A bug of ours must not take the viewer down; the client is told, the viewer carries on.
      answerRefused(response, undefined, new Refused(500, `internal error: ${(error as Error).message}`), options);
    });
  });
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  maxBodyBytes: number,
  options: ReceiverOptions,
): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://receiver').pathname;
  const signal = SIGNAL_PATHS[path];
  const mediaType = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const encoding = MEDIA_TYPES[mediaType];
  try {
    if (signal === undefined)
      throw new Refused(404, `no OTLP signal is served on ${path}; use /v1/traces, /v1/metrics or /v1/logs`);
    if (request.method !== 'POST') throw new Refused(405, `OTLP/HTTP takes POST, not ${request.method}`);
    if (encoding === undefined) {
      throw new Refused(
        415,
        `unsupported content type ${JSON.stringify(request.headers['content-type'] ?? '')}; use application/x-protobuf or application/json`,
      );
    }
    const contentEncoding = (request.headers['content-encoding'] ?? '').trim().toLowerCase();
    if (contentEncoding !== '' && contentEncoding !== 'identity' && contentEncoding !== 'gzip') {
      throw new Refused(415, `unsupported content encoding ${JSON.stringify(contentEncoding)}; use gzip or none`);
    }
    const received = await readBody(request, maxBodyBytes);
    const body = contentEncoding === 'gzip' ? await gunzipBounded(received, maxBodyBytes) : received;
    let decoded: DecodedRequest;
    try {
      decoded = decodeExportRequest(signal, encoding, body);
    } catch (error) {
      if (error instanceof MalformedRequest) throw new Refused(400, error.message);
      throw error;
    }
    const rejection = options.onExport(signal, decoded);
    const answer = exportResponse(signal, encoding, rejection);
    response.writeHead(200, { 'Content-Type': CONTENT_TYPES[encoding], 'Content-Length': answer.length });
    response.end(answer);
  } catch (error) {
    if (!(error instanceof Refused)) throw error;
    answerRefused(response, encoding, error, options);
  }
}

function answerRefused(
  response: ServerResponse,
  encoding: Encoding | undefined,
  refused: Refused,
  options: ReceiverOptions,
): void {
  options.onRefused?.(refused.status, refused.message);
  if (response.headersSent) {
    response.destroy();
    return;
  }
  // A Status in the request's encoding when there is one; plain text for a media type we do not speak.
  if (encoding === undefined) {
    const text = Buffer.from(`${refused.message}\n`);
    response.writeHead(refused.status, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': text.length,
    });
    response.end(text);
    return;
  }
  const body = statusBody(encoding, refused.status === 413 ? 8 : refused.status >= 500 ? 13 : 3, refused.message);
  response.writeHead(refused.status, {
    'Content-Type': CONTENT_TYPES[encoding],
    'Content-Length': body.length,
  });
  response.end(body);
}

function tooLarge(maxBodyBytes: number, what: string): Refused {
  return new Refused(413, `the ${what} is larger than the limit of ${maxBodyBytes} bytes`);
}

/**
 * The body, or a 413 refusal once an oversized body has been read to its end and dropped: answering
 * before the client has finished sending would make it fail on a closed socket (EPIPE) instead of
 * seeing the 413. A client that goes on far beyond the limit is cut off.
 */
function readBody(request: IncomingMessage, maxBodyBytes: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  let tooBig = Number.isFinite(declared) && declared > maxBodyBytes;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) tooBig = true;
      if (tooBig) {
        chunks.length = 0;
        if (size > DISCARD_FACTOR * maxBodyBytes) request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => (tooBig ? reject(tooLarge(maxBodyBytes, 'request body')) : resolve(Buffer.concat(chunks))));
    request.on('error', (error) => reject(new Refused(400, `the request was cut: ${error.message}`)));
  });
}

/** How far past the limit a body is read (and dropped) before the connection is cut. */
const DISCARD_FACTOR = 4;

function gunzipBounded(body: Buffer, maxBodyBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    gunzip(body, { maxOutputLength: maxBodyBytes }, (error, result) => {
      if (error === null) resolve(result);
      else if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
        reject(tooLarge(maxBodyBytes, 'decompressed body'));
      else reject(new Refused(400, `invalid gzip body: ${error.message}`));
    });
  });
}

/** Listens on each of `hosts` at `port`; rejects with the first listen error (EADDRINUSE for a busy port). */
export async function listen(makeServer: () => Server, hosts: readonly string[], port: number): Promise<Server[]> {
  const servers: Server[] = [];
  try {
    let chosenPort = port;
    for (const host of hosts) {
      const server = makeServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(chosenPort, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      servers.push(server);
      // With --port 0 the first server picks a free port; the others take the same one.
      chosenPort = (server.address() as AddressInfo).port;
    }
    return servers;
  } catch (error) {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    throw error;
  }
}
