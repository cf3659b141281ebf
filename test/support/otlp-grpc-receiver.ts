/**
 * A real OTLP/gRPC receiver for the tests: the three collector services served by @grpc/grpc-js on
 * 127.0.0.1, decoding each export with the same decoder as the HTTP receiver (decodeExportRequest,
 * the viewer's), and recording the metadata it came with; over TLS (mutual, with a CA) when asked.
 */
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import {
  decodeExportRequest,
  type ReceivedLogRecord,
  type ReceivedMetric,
  type ReceivedSpan,
  type Signal,
} from './otlp-receiver.ts';

export interface ReceivedGrpcExport {
  readonly signal: Signal;
  /** Request metadata, keys lowercased, values joined with ', '. */
  readonly metadata: Record<string, string>;
  readonly spans: ReceivedSpan[];
  readonly metrics: ReceivedMetric[];
  readonly logs: ReceivedLogRecord[];
}

const SERVICES: Record<Signal, string> = {
  traces: 'opentelemetry.proto.collector.trace.v1.TraceService',
  metrics: 'opentelemetry.proto.collector.metrics.v1.MetricsService',
  logs: 'opentelemetry.proto.collector.logs.v1.LogsService',
};

export class OtlpGrpcReceiver {
  constructor(
    private readonly server: Server,
    /** `http://127.0.0.1:PORT`, as OTEL_EXPORTER_OTLP_ENDPOINT takes it for grpc. */
    readonly url: string,
    /** Every export received, in order; filled by the server's handlers. */
    readonly exports: readonly ReceivedGrpcExport[],
  ) {}

  spans(): ReceivedSpan[] {
    return this.exports.flatMap((received) => received.spans);
  }

  metrics(): ReceivedMetric[] {
    return this.exports.flatMap((received) => received.metrics);
  }

  logs(): ReceivedLogRecord[] {
    return this.exports.flatMap((received) => received.logs);
  }

  close(): Promise<void> {
    this.server.forceShutdown();
    return Promise.resolve();
  }
}

export interface OtlpGrpcReceiverOptions {
  /** Serve over TLS with this key and certificate; with `ca`, a client certificate it signed is required. */
  tls?: { key: Buffer; cert: Buffer; ca?: Buffer };
  /**
   * When each export is answered: once the promise it returns resolves (a slow collector; one that
   * never resolves holds the call open until close()). Called once the export is recorded; at once by default.
   */
  answerWhen?: (signal: Signal) => Promise<void>;
}

export async function startOtlpGrpcReceiver(options: OtlpGrpcReceiverOptions = {}): Promise<OtlpGrpcReceiver> {
  const server = new Server();
  const received: ReceivedGrpcExport[] = [];
  for (const signal of Object.keys(SERVICES) as Signal[]) {
    const identity = (bytes: Buffer) => bytes;
    server.addService(
      {
        Export: {
          path: `/${SERVICES[signal]}/Export`,
          requestStream: false,
          responseStream: false,
          requestSerialize: identity,
          requestDeserialize: identity,
          // An empty Export*ServiceResponse.
          responseSerialize: () => Buffer.alloc(0),
          responseDeserialize: identity,
        },
      },
      {
        Export(call: ServerUnaryCall<Buffer, Buffer>, respond: sendUnaryData<Buffer>) {
          const metadata = Object.fromEntries(
            Object.entries(call.metadata.getMap()).map(([key, value]) => [key.toLowerCase(), String(value)]),
          );
          received.push({ signal, metadata, ...decodeExportRequest(signal, 'protobuf', call.request) });
          const answer = () => respond(null, Buffer.alloc(0));
          if (options.answerWhen === undefined) answer();
          else void options.answerWhen(signal).then(answer);
        },
      },
    );
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', serverCredentials(options), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return new OtlpGrpcReceiver(server, `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`, received);
}

function serverCredentials({ tls }: OtlpGrpcReceiverOptions): ServerCredentials {
  if (tls === undefined) return ServerCredentials.createInsecure();
  const pair = { private_key: tls.key, cert_chain: tls.cert };
  return ServerCredentials.createSsl(tls.ca ?? null, [pair], tls.ca !== undefined);
}
