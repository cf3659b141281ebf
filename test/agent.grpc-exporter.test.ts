/**
 * OTEL_EXPORTER_OTLP_PROTOCOL=grpc on each runtime: spans, metrics and logs reach a real OTLP/gRPC
 * receiver, with OTEL_EXPORTER_OTLP_HEADERS as request metadata, and the app is untouched.
 */
import assert from 'node:assert/strict';
import process from 'node:process';
import { after, before, describe, test } from 'node:test';
import { type OtlpGrpcReceiver, startOtlpGrpcReceiver } from './support/otlp-grpc-receiver.ts';
import { fixture, loader, RUNTIME_RUNS, runApp, spawnCollect } from './support/runtimes.ts';

let receiver: OtlpGrpcReceiver;
before(async () => {
  receiver = await startOtlpGrpcReceiver();
});
after(() => receiver.close());

describe('OTLP over gRPC', () => {
  for (const row of RUNTIME_RUNS) {
    test(`${row.runtime} ${row.loader.name}: the span and the counter arrive over gRPC with the headers as metadata`, async () => {
      const service = `grpc-${row.runtime}`;
      const run = await runApp({
        runtime: row.runtime,
        loader: row.loader,
        script: fixture('traced-app.mjs'),
        env: {
          OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=kv%20plugins',
          OTEL_SERVICE_NAME: service,
        },
      });
      assert.equal(run.exitCode, 0, `${run.command}\n${run.stderr}`);
      assert.doesNotMatch(run.stderr, /rpcplugin-telemetry:/);
      const spans = receiver.exports.filter(
        (received) =>
          received.signal === 'traces' && received.spans.some((span) => span.resource['service.name'] === service),
      );
      assert.equal(spans.length, 1, `one traces export from ${service}`);
      const [traces] = spans;
      assert.equal(traces?.spans[0]?.name, 'fixture.work');
      assert.equal(traces?.metadata['x-tenant'], 'kv plugins');
      assert.match(traces?.metadata['user-agent'] ?? '', /^rpcplugin-telemetry\/\d+\.\d+\.\d+ /);
      const counter = receiver
        .metrics()
        .find((metric) => metric.name === 'fixture.counter' && metric.resource['service.name'] === service);
      assert.ok(counter, `the counter from ${service}`);
      assert.equal(counter.dataPoints[0]?.value, 1);
    });
  }
});

describe('OTLP over gRPC, conformance with NodeSDK (the behavioural reference)', () => {
  test('the same services, metadata, span and metric names, and resource keys as NodeSDK on the same environment', async () => {
    const [ourReceiver, theirReceiver] = await Promise.all([startOtlpGrpcReceiver(), startOtlpGrpcReceiver()]);
    try {
      const environment = (url: string) => ({
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_ENDPOINT: url,
        OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=kv%20plugins',
        OTEL_SERVICE_NAME: 'grpc-conformance',
        // NodeSDK's detectors limited to the ones we use; our instrumentations off, as NodeSDK has none.
        OTEL_NODE_RESOURCE_DETECTORS: 'env,host,os,process',
        RPCPLUGIN_INSTRUMENTATIONS: 'none',
      });
      const [ours, theirs] = await Promise.all([
        runApp({
          runtime: 'node20',
          loader: loader('node20', '--import'),
          script: fixture('traced-app.mjs'),
          env: environment(ourReceiver.url),
        }),
        spawnCollect(process.execPath, [fixture('nodesdk-app.cjs')], { env: environment(theirReceiver.url) }),
      ]);
      assert.equal(ours.exitCode, 0, ours.stderr);
      assert.equal(theirs.exitCode, 0, theirs.stderr);
      const summary = (receiver: OtlpGrpcReceiver) => ({
        signals: [...new Set(receiver.exports.map((received) => received.signal))].sort(),
        tenants: [...new Set(receiver.exports.map((received) => received.metadata['x-tenant']))],
        spans: receiver.spans().map((span) => span.name),
        metrics: receiver.metrics().map((metric) => metric.name),
        resourceKeys: Object.keys(receiver.spans()[0]?.resource ?? {})
          // Intentional differences (test/agent.conformance.test.ts, INTENTIONAL_DIFFERENCES).
          .filter(
            (key) => !['process.command_args', 'service.version'].includes(key) && !key.startsWith('telemetry.distro.'),
          )
          .sort(),
      });
      assert.deepEqual(summary(ourReceiver), summary(theirReceiver));
      assert.deepEqual(summary(ourReceiver).spans, ['fixture.work']);
    } finally {
      await Promise.all([ourReceiver.close(), theirReceiver.close()]);
    }
  });
});
