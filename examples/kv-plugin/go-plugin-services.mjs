// The services every go-plugin gRPC plugin serves beside its own, as go-plugin's grpc_server.go,
// grpc_controller.go, grpc_broker.go and grpc_stdio.go do.
import grpc from '@grpc/grpc-js';

/**
 * Health (service "plugin", and the server as a whole, are SERVING), the controller (Shutdown calls
 * `onShutdown`), the broker and stdio streams. This plugin brokers no extra connections and sends
 * its logs to the real stderr, so the broker and stdio streams are held open, sending nothing, until
 * `endStreams()` ends them at shutdown.
 */
export function goPluginServices({ logger, onShutdown }) {
  const held = new Set();
  const hold = (call) => {
    held.add(call);
    call.on('cancelled', () => held.delete(call));
    call.on('error', () => held.delete(call));
  };
  const status = (service) => (service === '' || service === 'plugin' ? 'SERVING' : undefined);

  const health = {
    Check(call, callback) {
      const answer = status(call.request.service);
      if (answer === undefined) return callback({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
      callback(null, { status: answer });
    },
    Watch(call) {
      call.write({ status: status(call.request.service) ?? 'SERVICE_UNKNOWN' });
      hold(call);
    },
  };
  const controller = {
    Shutdown(_call, callback) {
      logger.info('shutdown requested by the host');
      callback(null, {});
      onShutdown();
    },
  };
  const broker = {
    StartStream(call) {
      call.on('data', (info) => logger.debug({ serviceId: info.service_id }, 'broker: connection info ignored'));
      call.on('end', () => {
        held.delete(call);
        call.end();
      });
      hold(call);
    },
  };
  const stdio = {
    StreamStdio(call) {
      hold(call);
    },
  };
  const endStreams = () => {
    for (const call of held) call.end();
    held.clear();
  };
  return { health, controller, broker, stdio, endStreams };
}
