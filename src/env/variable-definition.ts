import type { Kind } from './value-kinds.ts';

export const GROUPS = [
  'General',
  'Resource',
  'Context propagation',
  'Sampling',
  'Exporters',
  'OTLP exporter',
  'OTLP traces exporter',
  'OTLP metrics exporter',
  'OTLP logs exporter',
  'Batch span processor',
  'Batch log record processor',
  'Metric reader',
  'Prometheus exporter',
  'Limits',
  'Environment carriers',
  'Plugin',
] as const;

export type Group = (typeof GROUPS)[number];

/** One environment variable: declared once, read once, documented from here. */
export interface Variable<T> {
  readonly kind: Kind<T>;
  /** Used when the variable is unset, empty or invalid; `undefined` means "not set" is meaningful. */
  readonly default: NoInfer<T> | undefined;
  /** How the docs and env table describe a default that is computed from other settings. */
  readonly defaultText?: string;
  readonly description: string;
  readonly group: Group;
  /** The whole value is a secret: shown only as [redacted]. */
  readonly secret?: boolean;
}

export function variable<T>(definition: Variable<T>): Variable<T> {
  return definition;
}

export type ValueOf<V> = V extends Variable<infer T> ? T : never;

/** A variable seen without its value type, for code that treats all variables alike. */
export interface AnyVariable extends Omit<Variable<unknown>, 'kind'> {
  readonly kind: {
    readonly accepted: string;
    parse: Kind<unknown>['parse'];
    show(value: unknown): string;
    redactRaw(text: string): string;
  };
}
