import type { OtlpExporterConfig } from '../env/index.ts';
import { warn } from './diagnostics.ts';

/**
 * OTLP over gRPC is accepted by the configuration but not shipped yet: say so once per signal and
 * export nothing for it, rather than send http to a gRPC port.
 */
export function unsupportedProtocol(otlp: OtlpExporterConfig, variable: string): string | undefined {
  if (otlp.protocol !== 'grpc') return undefined;
  warn(
    `${variable}=grpc is not supported by this version yet; this signal is not exported. Use http/protobuf or http/json.`,
  );
  return 'grpc';
}
