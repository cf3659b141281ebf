/**
 * The app's pino, instrumented: the module's factory is wrapped so that every logger it makes (and
 * every child of those, which pino makes with Object.create) correlates its records with the active
 * span and, when logs are exported, exports them. Loggers are changed through the two extension
 * points pino reads on every write, the mixin and asJson, found under `pino.symbols`.
 */
import type { Logger } from '@opentelemetry/api-logs';
import { warn } from '../sdk/diagnostics.ts';
import { correlatingMixin, type PinoMixin } from './correlation.ts';
import { exportingAsJson, type PinoAsJson } from './export.ts';
import { hclogAsJson } from './hclog.ts';

/** The pino majors this instrumentation is tested with (the oldest and the newest are, on every runtime). */
export const SUPPORTED_PINO_MAJORS = { oldest: 8, newest: 10 } as const;

export interface PinoInstrumentationOptions {
  /** Where records are exported; undefined when OTEL_LOGS_EXPORTER=none (correlation only). */
  readonly exportTo: Logger | undefined;
  /** RPCPLUGIN_LOG_FORMAT: `hclog` rewrites each line the app's loggers write as hclog JSON (hclog.ts). */
  readonly format: 'pino' | 'hclog';
}

interface PinoSymbols {
  readonly mixinSym: symbol;
  readonly asJsonSym: symbol;
  readonly chindingsSym: symbol;
  readonly messageKeySym: symbol;
  readonly errorKeySym: symbol;
}

const SYMBOL_NAMES = ['mixinSym', 'asJsonSym', 'chindingsSym', 'messageKeySym', 'errorKeySym'] as const;

type PinoFactory = ((...args: unknown[]) => unknown) & { readonly version?: unknown; readonly symbols?: unknown };

/** Properties every function has; the rest of pino's own (destination, transport, levels…) are carried over. */
const FUNCTION_OWN = new Set<string | symbol>(['length', 'name', 'prototype', 'arguments', 'caller']);

/**
 * The instrumented module: a factory that makes loggers with the original and instruments them, with
 * the original's properties (`pino.destination`, `pino.symbols`…), and `default` and `pino` pointing
 * to itself as they do in pino. A pino outside the supported majors is returned unchanged, with one
 * warning; one whose shape we do not know throws (the caller says so and keeps the original).
 */
export function instrumentPinoModule(exports: unknown, options: PinoInstrumentationOptions): unknown {
  if (typeof exports !== 'function') throw new Error(`pino exports a ${typeof exports}, not its factory function`);
  const original = exports as PinoFactory;
  const version = typeof original.version === 'string' ? original.version : 'of unknown version';
  const major = Number.parseInt(version, 10);
  const { oldest, newest } = SUPPORTED_PINO_MAJORS;
  if (!(major >= oldest && major <= newest)) {
    warn(
      `pino ${version} is outside the supported versions (${oldest}.x to ${newest}.x): its records get no trace context and are not exported.`,
    );
    return exports;
  }
  const symbols = symbolsOf(original.symbols);
  const instrumented = function pino(this: unknown, ...args: unknown[]): unknown {
    const logger = Reflect.apply(original, this, args);
    instrumentLogger(logger, symbols, options);
    return logger;
  };
  for (const key of Reflect.ownKeys(original)) {
    if (FUNCTION_OWN.has(key)) continue;
    const descriptor = Object.getOwnPropertyDescriptor(original, key) as PropertyDescriptor;
    if (descriptor.value === original) descriptor.value = instrumented;
    Object.defineProperty(instrumented, key, descriptor);
  }
  return instrumented;
}

function symbolsOf(value: unknown): PinoSymbols {
  const symbols = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const missing = SYMBOL_NAMES.filter((name) => typeof symbols[name] !== 'symbol');
  if (missing.length > 0) throw new Error(`pino.symbols has no ${missing.join(', ')}`);
  return symbols as unknown as PinoSymbols;
}

let reported = false;

function instrumentLogger(logger: unknown, symbols: PinoSymbols, options: PinoInstrumentationOptions): void {
  if (typeof logger !== 'object' || logger === null) return;
  const fields = logger as Record<symbol, unknown>;
  try {
    const appMixin = fields[symbols.mixinSym];
    // pino has validated its options: a mixin is a function or absent.
    if (appMixin === undefined || typeof appMixin === 'function') {
      fields[symbols.mixinSym] = correlatingMixin(appMixin as PinoMixin | undefined, symbols.chindingsSym);
    }
    const asJson = fields[symbols.asJsonSym];
    if (typeof asJson === 'function') {
      // The export reads pino's own line; the hclog rewrite, outermost, changes only what is written.
      let written = asJson as PinoAsJson;
      if (options.exportTo !== undefined) written = exportingAsJson(written, symbols, options.exportTo);
      if (options.format === 'hclog') written = hclogAsJson(written, symbols);
      if (written !== asJson) fields[symbols.asJsonSym] = written;
    }
  } catch (error) {
    if (!reported) {
      reported = true;
      warn(`a pino logger could not be instrumented (${(error as Error).message}); it logs as before.`);
    }
  }
}
