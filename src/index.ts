/**
 * Public API of rpcplugin-telemetry. The preload (`rpcplugin-telemetry/register`) needs none of it;
 * this is for code that wants to inspect the configuration the agent would use.
 */
export {
  type Config,
  type ConfigProblem,
  describeProblem,
  type EnvSource,
  formatProblemReport,
  type LoadedConfig,
  type LoadOptions,
  loadConfig,
  type Setting,
  type SettingSource,
  VARIABLE_NAMES,
  type VariableName,
} from './env/index.ts';
export { VERSION } from './version.ts';
