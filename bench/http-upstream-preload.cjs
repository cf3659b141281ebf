'use strict';
// bench/http.mjs's comparison on Node: OpenTelemetry contrib's instrumentation-http and
// instrumentation-undici under NodeSDK, started as their READMEs show, exporting over OTLP/HTTP
// (protobuf) to the same receiver as the agent, with the same default SDK settings.
const { NodeSDK } = require('@opentelemetry/sdk-node');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { UndiciInstrumentation } = require('@opentelemetry/instrumentation-undici');

const sdk = new NodeSDK({ instrumentations: [new HttpInstrumentation(), new UndiciInstrumentation()] });
sdk.start();
process.once('beforeExit', () => sdk.shutdown());
