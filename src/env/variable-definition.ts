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

/**
 * One environment variable: declared once, read once, documented from here. `D` is the type of its
 * default: a variable whose default is a value always resolves to a value, one whose default is
 * `undefined` may resolve to nothing.
 */
export interface Variable<T, D extends T | undefined = T | undefined> {
  readonly kind: Kind<T>;
  /** Used when the variable is unset, empty or invalid; `undefined` means "not set" is meaningful. */
  readonly default: D;
  /** How the docs and env table describe a default that is computed from other settings. */
  readonly defaultText?: string;
  readonly description: string;
  readonly group: Group;
  /** The whole value is a secret: shown only as [redacted]. */
  readonly secret?: boolean;
}

export function variable<T, const D extends T | undefined>(definition: Variable<T, D>): Variable<T, D> {
  return definition;
}

/** What a variable resolves to: its value type, or nothing when it has no default. */
export type ValueOf<V> = V extends Variable<infer T, infer D> ? (undefined extends D ? T | undefined : T) : never;

/** A variable seen without its value type, for code that treats all variables alike. */
export interface AnyVariable extends Omit<Variable<unknown>, 'kind'> {
  readonly kind: {
    readonly accepted: string;
    parse: Kind<unknown>['parse'];
    show(value: unknown): string;
    redactRaw(text: string): string;
  };
}
