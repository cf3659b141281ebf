/**
 * The host role (docs/host.md): child processes the app starts get the current trace context in
 * TRACEPARENT/TRACESTATE/BAGGAGE, unless the caller set those itself; a go-plugin plugin launch
 * gets the span `rpcplugin.plugin.launch`, from the launch to the plugin's handshake line, and the
 * plugin is handed that span's context. On in every role: a plugin that starts processes of its
 * own is their host.
 */
import { diag } from '@opentelemetry/api';
import type { Config } from '../../env/index.ts';
import { instrumentBunSpawn } from './bun-spawn.ts';
import { ChildContext } from './child-context.ts';
import { instrumentDenoCommand } from './deno-command.ts';
import { instrumentNodeChildProcess } from './node-child-process.ts';

export { endOpenLaunches } from './launch.ts';

export function instrumentChildProcesses(config: Config): void {
  const children = new ChildContext(config.plugin.magicCookieKey);
  instrumentNodeChildProcess(children);
  const runtime = globalThis as { Bun?: Record<string, unknown>; Deno?: Record<string, unknown> };
  if (runtime.Bun !== undefined) instrumentBunSpawn(runtime.Bun, children);
  if (runtime.Deno !== undefined) instrumentDenoCommand(runtime.Deno, children);
  diag.debug('rpcplugin-telemetry: child processes get the trace context in their environment.');
}
