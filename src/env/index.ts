export type * from './config.ts';
export { unreadableVariables } from './environment.ts';
export {
  type EnvSource,
  type LoadedConfig,
  type LoadOptions,
  loadConfig,
  type Setting,
  type SettingSource,
} from './load-config.ts';
export { printable, printableJson, quote } from './printable.ts';
export {
  type ConfigProblem,
  describeProblem,
  formatProblemReport,
  MESSAGE_PREFIX,
  STRICT_EXIT_CODE,
} from './problems.ts';
export { isSecretName, REDACTED } from './secrets.ts';
export { GROUPS, type Group } from './variable-definition.ts';
export { definitionOf, VARIABLE_NAMES, type VariableName, variables } from './variables.ts';
