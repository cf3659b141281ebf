/**
 * pino: every record written while a span is active carries its `trace_id`, `span_id` and
 * `trace_flags`, and records are exported through the logs pipeline unless OTEL_LOGS_EXPORTER=none.
 * The app's own copy of pino is instrumented when the app first loads it; an app that never loads
 * pino never has it loaded by us (docs/logs.md). RPCPLUGIN_LOG_FORMAT=hclog writes the lines as hclog
 * JSON, for go-plugin hosts (hclog.ts).
 */
import { logs } from '@opentelemetry/api-logs';
import type { Config } from '../../env/index.ts';
import { VERSION } from '../../version.ts';
import { interceptAppModule } from './app-module.ts';
import { instrumentPinoModule } from './pino.ts';

/** The instrumentation scope of exported pino records. */
const PINO_SCOPE = 'rpcplugin-telemetry/pino';

export function instrumentPino(config: Config): void {
  const exportTo = config.logs.exporters.length > 0 ? logs.getLogger(PINO_SCOPE, VERSION) : undefined;
  interceptAppModule('pino', (exports) => instrumentPinoModule(exports, { exportTo, format: config.plugin.logFormat }));
}
