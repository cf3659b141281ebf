/**
 * OTLP over HTTPS with the TLS material of OTEL_EXPORTER_OTLP_CERTIFICATE, _CLIENT_KEY and
 * _CLIENT_CERTIFICATE, against a receiver whose certificate a throwaway CA signed. On each runtime:
 * the CA file makes the receiver trusted; the client pair passes a receiver that requires one; and
 * without them nothing is sent, while the app runs and exits as usual.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { makeTestCertificates, type TestCertificates } from './support/certificates.ts';
import { type OtlpReceiver, startOtlpReceiver } from './support/otlp-receiver.ts';
import { type AgentRun, fixture, RUNTIME_RUNS, runApp } from './support/runtimes.ts';

let certificates: TestCertificates;
let serverOnly: OtlpReceiver;
let mutual: OtlpReceiver;
before(async () => {
  certificates = makeTestCertificates();
  const serverTls = {
    key: certificates.read(certificates.serverKey),
    cert: certificates.read(certificates.serverCertificate),
  };
  serverOnly = await startOtlpReceiver({ tls: serverTls });
  mutual = await startOtlpReceiver({ tls: { ...serverTls, ca: certificates.read(certificates.caCertificate) } });
});
after(async () => {
  await Promise.all([serverOnly.close(), mutual.close()]);
  rmSync(certificates.dir, { recursive: true, force: true });
});

function spanServices(receiver: OtlpReceiver): string[] {
  return receiver.spans().map((span) => String(span.resource['service.name']));
}

async function exportOnce(row: AgentRun, service: string, env: Record<string, string>) {
  const run = await runApp({
    runtime: row.runtime,
    loader: row.loader,
    script: fixture('traced-app.mjs'),
    env: { OTEL_SERVICE_NAME: service, OTEL_METRICS_EXPORTER: 'none', RPCPLUGIN_SHUTDOWN_TIMEOUT: '1500', ...env },
  });
  assert.equal(run.exitCode, 0, `${run.command}\n${run.stderr}`);
  return run;
}

describe('OTLP over HTTPS', () => {
  for (const row of RUNTIME_RUNS) {
    test(`${row.runtime} ${row.loader.name}: OTEL_EXPORTER_OTLP_CERTIFICATE trusts the receiver's CA`, async () => {
      const service = `tls-ca-${row.runtime}`;
      await exportOnce(row, service, {
        OTEL_EXPORTER_OTLP_ENDPOINT: serverOnly.url,
        OTEL_EXPORTER_OTLP_CERTIFICATE: certificates.caCertificate,
      });
      assert.ok(spanServices(serverOnly).includes(service), serverOnly.describe());
    });

    test(`${row.runtime} ${row.loader.name}: without the CA the receiver is not trusted and nothing is sent`, async () => {
      const service = `tls-untrusted-${row.runtime}`;
      await exportOnce(row, service, { OTEL_EXPORTER_OTLP_ENDPOINT: serverOnly.url });
      assert.ok(!spanServices(serverOnly).includes(service), serverOnly.describe());
    });

    test(`${row.runtime} ${row.loader.name}: _CLIENT_KEY and _CLIENT_CERTIFICATE pass a receiver that requires a client certificate`, async () => {
      const service = `tls-mutual-${row.runtime}`;
      await exportOnce(row, service, {
        OTEL_EXPORTER_OTLP_ENDPOINT: mutual.url,
        OTEL_EXPORTER_OTLP_CERTIFICATE: certificates.caCertificate,
        OTEL_EXPORTER_OTLP_CLIENT_KEY: certificates.clientKey,
        OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: certificates.clientCertificate,
      });
      assert.ok(spanServices(mutual).includes(service), mutual.describe());
    });

    test(`${row.runtime} ${row.loader.name}: without a client certificate that receiver gets nothing`, async () => {
      const service = `tls-no-client-${row.runtime}`;
      await exportOnce(row, service, {
        OTEL_EXPORTER_OTLP_ENDPOINT: mutual.url,
        OTEL_EXPORTER_OTLP_CERTIFICATE: certificates.caCertificate,
      });
      assert.ok(!spanServices(mutual).includes(service), mutual.describe());
    });
  }
});
