// Loads the plugin's service definitions (proto/*.proto) once, for the plugin and for the example host.
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';

const PROTO_DIR = fileURLToPath(new URL('./proto/', import.meta.url));

/** `proto.KV`, go-plugin's `plugin.*` services and `grpc.health.v1.Health`, as grpc-js constructors. */
export function loadServices() {
  const definition = protoLoader.loadSync(['kv.proto', 'go-plugin.proto', 'health.proto'], {
    includeDirs: [PROTO_DIR],
    // Keep enum names as strings and int64 as strings: what the host prints is then exact.
    enums: String,
    longs: String,
  });
  const loaded = grpc.loadPackageDefinition(definition);
  return { kv: loaded.proto, plugin: loaded.plugin, health: loaded.grpc.health.v1 };
}
