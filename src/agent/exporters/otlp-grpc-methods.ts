export type OtlpSignal = 'traces' | 'metrics' | 'logs';

/** The OTLP/gRPC method of each signal's collector service (the gRPC exporters and the exit send use them). */
export const GRPC_EXPORT_METHODS: Readonly<Record<OtlpSignal, string>> = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
};
