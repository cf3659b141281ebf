/**
 * RPCPLUGIN_SHUTDOWN_TIMEOUT in the plugin role, as a user meets it: a rejected value's message names
 * the value really used (the plugin role's 1500, not the schema's 3000), on every runtime, for the
 * role chosen by RPCPLUGIN_ROLE and for the role detected from go-plugin's variables.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fixture, RUNTIME_RUNS, runApp } from './support/runtimes.ts';

const HANDSHAKE = '1|5|tcp|127.0.0.1:1234|grpc';
const QUIET = { OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' };

const ROLES = [
  ['RPCPLUGIN_ROLE=plugin', { RPCPLUGIN_ROLE: 'plugin' }, "the plugin role's default 1500"],
  ['the role detected from PLUGIN_MIN_PORT', { PLUGIN_MIN_PORT: '10000' }, "the plugin role's default 1500"],
  ['the host role', { RPCPLUGIN_ROLE: 'host' }, 'the default 3000'],
] as const;

for (const run of RUNTIME_RUNS) {
  describe(`RPCPLUGIN_SHUTDOWN_TIMEOUT rejected: ${run.runtime} ${run.loader.name} (${run.format})`, () => {
    for (const [title, roleEnvironment, using] of ROLES) {
      test(`${title}: the message says ${using}`, async () => {
        const result = await runApp({
          runtime: run.runtime,
          loader: run.loader,
          script: fixture(`plugin/handshake-app.${run.format === 'cjs' ? 'cjs' : 'mjs'}`),
          env: {
            ...QUIET,
            ...roleEnvironment,
            RPCPLUGIN_SHUTDOWN_TIMEOUT: 'soon',
            FIXTURE_WRITER: 'write',
            FIXTURE_HANDSHAKE: HANDSHAKE,
          },
        });
        assert.equal(result.exitCode, 0, result.stderr);
        assert.equal(
          result.stderr,
          `rpcplugin-telemetry: RPCPLUGIN_SHUTDOWN_TIMEOUT="soon" is not a whole number. Accepted: a whole number from 0 to 2147483647 (milliseconds). Using ${using}.\n`,
        );
      });
    }
  });
}
