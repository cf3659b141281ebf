// The preload entry: `node --import rpcplugin-telemetry/register`, `--require`, `bun --preload`,
// `deno run --preload npm:rpcplugin-telemetry/register`. It must never throw into the application.
import { runPreload } from './src/agent/preload/preload.ts';

runPreload();
