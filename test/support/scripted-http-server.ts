/**
 * A plain HTTP server on 127.0.0.1 whose answer to each request the test scripts: a status with
 * headers and body, no answer at all (`hang`), a connection closed without an answer (`reset`), or a
 * 200 whose body comes one byte every half second and never ends (`trickle`).
 * It records what arrived and when. For the tests of our own OTLP/HTTP transport and of what is
 * built on it; the OTLP receiver (otlp-receiver.ts) is the one that decodes telemetry.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { listenOnLoopback } from './otlp-receiver.ts';

export type Answer =
  | { readonly status: number; readonly headers?: Readonly<Record<string, string>>; readonly body?: string | Buffer }
  | 'hang'
  | 'reset'
  | 'trickle';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  /** Lowercase names, as node:http gives them. */
  readonly headers: IncomingMessage['headers'];
  /** The body as sent (not decompressed). */
  readonly body: Buffer;
  /** performance.now() when the whole body had arrived. */
  readonly receivedAt: number;
}

/** Decides the answer to the request numbered `index` (from 0); may take its time (a promise). */
export type Script = (request: RecordedRequest, index: number) => Answer | Promise<Answer>;

export class ScriptedServer {
  /** Every request received, in arrival order. */
  readonly requests: RecordedRequest[] = [];
  /** e.g. http://127.0.0.1:40123 */
  readonly url: string;
  private readonly sockets = new Set<Socket>();
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly server: Server,
    private readonly script: Script,
  ) {
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('request', (request: IncomingMessage, response: ServerResponse) => this.receive(request, response));
  }

  /** Resolves once `count` requests have arrived; rejects after `timeoutMs` saying what did arrive. */
  waitForRequests(count: number, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.requests.length < count) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`${this.url} received ${this.requests.length} request(s), not ${count}, in ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Stops listening and destroys open connections (hung ones too). */
  close(): Promise<void> {
    const closing = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    return closing;
  }

  private receive(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('error', () => {
      // The client gave up mid-request (a timeout): nothing to record.
    });
    request.on('end', async () => {
      const recorded: RecordedRequest = {
        method: request.method ?? '',
        path: request.url ?? '/',
        headers: request.headers,
        body: Buffer.concat(chunks),
        receivedAt: performance.now(),
      };
      const index = this.requests.push(recorded) - 1;
      for (const check of [...this.waiters]) check();
      let answer: Answer;
      try {
        answer = await this.script(recorded, index);
      } catch (error) {
        // Never throw inside the server: a script that fails answers 500 with why.
        answer = { status: 500, body: String(error) };
      }
      if (answer === 'hang') return;
      if (answer === 'reset') {
        request.socket.destroy();
        return;
      }
      if (answer === 'trickle') {
        trickle(response);
        return;
      }
      response.writeHead(answer.status, { ...answer.headers });
      response.end(answer.body);
    });
  }
}

/** A 200 announcing a 1 MiB body, then one byte of it every 500 ms until the client goes away. */
function trickle(response: ServerResponse): void {
  response.writeHead(200, { 'content-type': 'application/x-protobuf', 'content-length': String(1024 * 1024) });
  const drip = setInterval(() => response.write(Buffer.alloc(1)), 500);
  drip.unref();
  response.on('close', () => clearInterval(drip));
}

/**
 * Starts a server on a free port of 127.0.0.1 that answers as `script` says. Like the OTLP receiver,
 * it does not keep the test's process running: see holdOpen().
 */
export async function startScriptedServer(script: Script): Promise<ScriptedServer> {
  const server = createServer();
  await listenOnLoopback(server);
  server.unref();
  return new ScriptedServer(server, script);
}

/**
 * Keeps the process running for at most `ms` (until the returned function is called). Our transport's
 * sockets and timers never do (that is their point), so a test that waits for them holds the process
 * open itself, for a bounded time: a test that hangs then fails ("the event loop has already
 * resolved") instead of hanging the whole run.
 */
export function holdOpen(ms = 60_000): () => void {
  const timer = setTimeout(() => {}, ms);
  return () => clearTimeout(timer);
}

/** Runs `body` with a server answering as `script` says, and closes the server afterwards. */
export async function withScriptedServer<T>(script: Script, body: (server: ScriptedServer) => Promise<T>): Promise<T> {
  const server = await startScriptedServer(script);
  const release = holdOpen();
  try {
    return await body(server);
  } finally {
    await server.close();
    release();
  }
}

/** A promise and the function that resolves it: holds a scripted answer back until the test says. */
export function latch(): { promise: Promise<void>; release: () => void } {
  let release = () => {};
  const promise = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { promise, release };
}
