/**
 * The resource every signal carries: service name and version by the rules in README.md ("What the agent does at start"), then the
 * process and host facts. No detector here makes a network call (no cloud metadata probes), and
 * process.command_args is left out: command lines can hold secrets.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import {
  type DetectedResourceAttributes,
  defaultResource,
  hostDetector,
  osDetector,
  processDetector,
  type Resource,
  type ResourceDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import type { Config } from '../../env/index.ts';
import { VERSION } from '../../version.ts';
import { detectRuntime, isPermitted } from '../runtime/runtime.ts';

interface AppPackage {
  readonly name?: string;
  readonly version?: string;
}

export function buildResource(config: Config): Resource {
  const runtime = detectRuntime();
  const app = readAppPackage(process.argv[1]);
  const processAttributes = detectSafely(processDetector);
  delete processAttributes['process.command_args'];
  const serviceName = config.resource.serviceName ?? app.name ?? `unknown_service:${runtime.name}`;
  // defaultResource: the telemetry.sdk.* attributes.
  return defaultResource()
    .merge(
      resourceFromAttributes({
        ...processAttributes,
        'process.runtime.name': runtime.name,
        'process.runtime.version': runtime.version,
        'process.runtime.description': runtime.description,
        'telemetry.distro.name': 'rpcplugin-telemetry',
        'telemetry.distro.version': VERSION,
      }),
    )
    .merge(
      resourceFromAttributes(
        isPermitted({ name: 'sys', kind: 'hostname' }) ? { ...detectSafely(hostDetector), ...readMachineId() } : {},
      ),
    )
    .merge(resourceFromAttributes(isPermitted({ name: 'sys', kind: 'osRelease' }) ? detectSafely(osDetector) : {}))
    .merge(resourceFromAttributes(config.resource.attributes))
    .merge(
      resourceFromAttributes({
        'service.name': serviceName,
        ...(app.version && config.resource.attributes['service.version'] === undefined
          ? { 'service.version': app.version }
          : {}),
      }),
    );
}

/**
 * A detector's attributes, or none when the runtime refuses what it asks (a permission, a missing
 * API). Attributes that only settle later (the host detector's host.id is a Promise) are left out:
 * a resource with pending attributes cannot be exported synchronously at process.exit.
 */
function detectSafely(detector: ResourceDetector): DetectedResourceAttributes {
  try {
    const detected = Object.entries(detector.detect().attributes ?? {});
    return Object.fromEntries(detected.filter(([, value]) => !(value instanceof Promise)));
  } catch {
    return {};
  }
}

// host.id as the host detector finds it on Linux, read synchronously (see detectSafely).
function readMachineId(): DetectedResourceAttributes {
  for (const path of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    if (!isPermitted({ name: 'read', path })) continue;
    try {
      const id = readFileSync(path, 'utf8').trim();
      if (id !== '') return { 'host.id': id };
    } catch {
      // Not Linux, or not readable here: try the next one, then go without.
    }
  }
  return {};
}

/**
 * The package.json nearest to the main script: the app's name and version. Nothing when there is
 * no script (`node -e`) or the runtime may not read files (Deno without --allow-read).
 */
export function readAppPackage(mainScript: string | undefined): AppPackage {
  if (!mainScript) return {};
  let directory = dirname(resolve(mainScript));
  for (;;) {
    const found = readPackageJson(join(directory, 'package.json'));
    if (found !== undefined) return found;
    const parent = dirname(directory);
    if (parent === directory) return {};
    directory = parent;
  }
}

function readPackageJson(path: string): AppPackage | undefined {
  // Asked first: on Deno a read without permission could stop the process at a prompt.
  if (!isPermitted({ name: 'read', path })) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    return {
      name: typeof parsed.name === 'string' && parsed.name !== '' ? parsed.name : undefined,
      version: typeof parsed.version === 'string' && parsed.version !== '' ? parsed.version : undefined,
    };
  } catch {
    return {};
  }
}
