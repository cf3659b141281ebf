/** What `rpcplugin-telemetry env` shows for each variable: the value in force and where it came from. */
import type { VariableName } from './variables.ts';

/** default: nothing set it; environment: the variable did; derived: computed from other variables. */
export type SettingSource = 'default' | 'environment' | 'derived';

export interface Setting {
  readonly name: VariableName;
  /** As `rpcplugin-telemetry env` shows it, secrets redacted; empty when nothing is set. */
  readonly value: string;
  readonly source: SettingSource;
}
