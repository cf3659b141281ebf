/**
 * The HTTP service a plugin calls in the HTTP client tests (test/fixtures/http/downstream.cjs): a
 * real node:http server on 127.0.0.1 that records, for each request, the run and step it belongs to
 * (the `x-run` and `x-step` headers) and the trace context headers it carried, and answers by path: /ok, /created,
 * /status/<code>, /redirect (to /ok), /hang (never answers), /stream-forever (one chunk, never ends),
 * /slow (one chunk, the rest 300 ms later; when it arrived and when it ended are recorded).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { listenOnLoopback } from './otlp-receiver.ts';

export interface TargetRequest {
  /** The `x-run` header: which run of the app sent it. */
  readonly run: string | undefined;
  readonly step: string | undefined;
  readonly method: string;
  readonly path: string;
  readonly traceparent: string | undefined;
  readonly b3: string | undefined;
  /** performance.now() when the request arrived. */
  readonly receivedAt: number;
  /** performance.now() when the server wrote the end of a /slow response. */
  endedAt?: number;
}

export class HttpTarget {
  readonly requests: TargetRequest[] = [];
  readonly url: string;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly server: Server) {
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('request', (request: IncomingMessage, response: ServerResponse) => this.answer(request, response));
  }

  /** What the server saw of one step of one run (the suppressed step sends two requests). */
  of(run: string, step: string): TargetRequest[] {
    return this.requests.filter((request) => request.run === run && request.step === step);
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private answer(request: IncomingMessage, response: ServerResponse): void {
    const header = (name: string) => {
      const value = request.headers[name];
      return Array.isArray(value) ? value.join(',') : value;
    };
    const path = request.url ?? '/';
    const seen: TargetRequest = {
      run: header('x-run'),
      step: header('x-step'),
      method: request.method ?? '',
      path,
      traceparent: header('traceparent'),
      b3: header('b3'),
      receivedAt: performance.now(),
    };
    this.requests.push(seen);
    request.resume();
    const route = path.split('?')[0] ?? path;
    response.setHeader('x-served-by', 'http-target');
    if (route === '/ok') return void response.end('ok');
    if (route === '/created') return void response.writeHead(201).end('created');
    if (route.startsWith('/status/')) return void response.writeHead(Number(route.slice(8))).end('status');
    if (route === '/redirect') return void response.writeHead(302, { location: '/ok' }).end();
    if (route === '/hang') return;
    if (route === '/stream-forever') {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('first');
      return;
    }
    if (route === '/slow') {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.write('a');
      setTimeout(() => {
        seen.endedAt = performance.now();
        response.end('b');
      }, 300);
      return;
    }
    response.writeHead(404).end('no such route');
  }
}

export async function startHttpTarget(): Promise<HttpTarget> {
  const server = createServer();
  await listenOnLoopback(server);
  server.unref();
  return new HttpTarget(server);
}
