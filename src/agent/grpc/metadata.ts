/**
 * gRPC metadata as the propagators' carrier, and as span attributes for the keys
 * RPCPLUGIN_GRPC_CAPTURE_METADATA names (values of secret-looking keys redacted).
 */
import { Buffer } from 'node:buffer';
import type { Attributes, TextMapGetter, TextMapSetter } from '@opentelemetry/api';
import { isSecretName, REDACTED } from '../../env/index.ts';
import type { Conventions } from './method.ts';
import { OLD, STABLE } from './semconv.ts';

/** The part of grpc-js's Metadata class the agent uses (the same in every grpc-js 1.x). */
export interface GrpcMetadata {
  get(key: string): (string | Uint8Array)[];
  set(key: string, value: string | Uint8Array): void;
  getMap(): Record<string, string | Uint8Array>;
  clone(): GrpcMetadata;
}

export type MetadataClass = new () => GrpcMetadata;

export const metadataGetter: TextMapGetter<GrpcMetadata> = {
  get(carrier, key) {
    const values = carrier.get(key);
    // An absent key is undefined, not [] (which the propagators would take for a value).
    if (values.length === 0) return undefined;
    const first = values[0];
    return values.length === 1 && typeof first === 'string' ? first : values.map(String);
  },
  keys(carrier) {
    return Object.keys(carrier.getMap());
  },
};

export const metadataSetter: TextMapSetter<GrpcMetadata> = {
  set(carrier, key, value) {
    carrier.set(key, value);
  },
};

/** One captured key: its metadata name and the attribute names it is recorded under. */
interface CapturedKey {
  readonly key: string;
  readonly secret: boolean;
  readonly attributes: readonly string[];
}

/** Reads the configured keys from request metadata; undefined when nothing is to be captured. */
export type MetadataCapture = ((metadata: GrpcMetadata) => Attributes | undefined) | undefined;

export function metadataCapture(keys: readonly string[], conventions: Conventions): MetadataCapture {
  if (keys.length === 0) return undefined;
  const captured: CapturedKey[] = keys.map((key) => ({
    key,
    secret: isSecretName(key),
    attributes: [
      ...(conventions.old ? [OLD.requestMetadata + key] : []),
      ...(conventions.stable ? [STABLE.requestHeader + key] : []),
    ],
  }));
  return (metadata) => {
    let attributes: Attributes | undefined;
    for (const { key, secret, attributes: names } of captured) {
      const values = metadata.get(key);
      if (values.length === 0) continue;
      // Binary (-bin) values are base64, as the conventions ask for values that are not UTF-8 text.
      const recorded = values.map((value) =>
        secret ? REDACTED : typeof value === 'string' ? value : Buffer.from(value).toString('base64'),
      );
      attributes ??= {};
      for (const name of names) attributes[name] = recorded;
    }
    return attributes;
  };
}
