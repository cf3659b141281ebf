/**
 * The one place that knows which runtime we run on. Other modules ask for what it reports
 * (name, version, capabilities), never test for Bun or Deno themselves.
 */
import process from 'node:process';

export type RuntimeName = 'nodejs' | 'bun' | 'deno';

export interface RuntimeInfo {
  /** process.runtime.name as the semantic conventions spell it. */
  readonly name: RuntimeName;
  readonly version: string;
  readonly description: string;
}

interface Versions {
  readonly node?: string;
  readonly bun?: string;
  readonly deno?: string;
}

let detected: RuntimeInfo | undefined;

export function detectRuntime(): RuntimeInfo {
  detected ??= describeRuntime(process.versions as Versions);
  return detected;
}

// Bun and Deno also report a `node` version (the Node API level they emulate), so they are asked first.
function describeRuntime(versions: Versions): RuntimeInfo {
  if (versions.bun) return { name: 'bun', version: versions.bun, description: 'Bun' };
  if (versions.deno) return { name: 'deno', version: versions.deno, description: 'Deno' };
  return { name: 'nodejs', version: versions.node ?? 'unknown', description: 'Node.js' };
}

/** A Deno permission descriptor, as `Deno.permissions.querySync` takes it. */
export type PermissionDescriptor =
  | { readonly name: 'read'; readonly path: string }
  | { readonly name: 'net'; readonly host: string }
  | { readonly name: 'sys'; readonly kind: 'hostname' | 'osRelease' | 'uid' };

interface DenoPermissions {
  querySync(descriptor: PermissionDescriptor): { state: 'granted' | 'denied' | 'prompt' };
}

/**
 * Whether the runtime lets us do something without asking. Only Deno has permissions; it is asked
 * with querySync, which never prompts (a prompt in a plugin's preload would hang its host).
 */
export function isPermitted(descriptor: PermissionDescriptor): boolean {
  const permissions = (globalThis as { Deno?: { permissions?: DenoPermissions } }).Deno?.permissions;
  if (permissions === undefined) return true;
  try {
    return permissions.querySync(descriptor).state === 'granted';
  } catch {
    return false;
  }
}

/** What the process metrics can measure for real on this runtime (docs/process-metrics.md has the measurements). */
export interface ProcessMeasurements {
  /** v8.getHeapSpaceStatistics() describes a V8 heap: Node and Deno. Bun runs JavaScriptCore and puts everything in old_space. */
  readonly v8HeapSpaces: boolean;
  /** perf_hooks.monitorEventLoopDelay() sees a blocked loop: Node and Bun. Deno's does not see a 30 ms block reliably. */
  readonly eventLoopDelay: boolean;
}

export function processMeasurements(): ProcessMeasurements {
  const { name } = detectRuntime();
  return { v8HeapSpaces: name !== 'bun', eventLoopDelay: name !== 'deno' };
}

/**
 * Whether the global fetch is undici's and reports each request on undici's diagnostics channels
 * (Node, which lists its bundled undici in process.versions); Bun's and Deno's native fetch do not.
 */
export function fetchPublishesDiagnostics(): boolean {
  return typeof (process.versions as { undici?: unknown }).undici === 'string';
}

/**
 * Whether node:http publishes `http.client.request.created`, where a request's headers can still be
 * set: Node 22 and later, and Bun and Deno (which report Node 26's API level). Node 20 does not.
 */
export function nodeHttpPublishesRequestCreated(): boolean {
  const major = Number.parseInt(process.versions.node ?? '', 10);
  return !(major < 22);
}
