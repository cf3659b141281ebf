/**
 * Service clients: the classes makeClientConstructor and loadPackageDefinition make. grpc-js builds
 * their methods from copies of Client.prototype's request methods taken when it loads, so wrapping
 * the prototype reaches none of them. The two functions are wrapped in grpc-js's make-client module:
 * its package exports are getters that read that module's exports at each access (plain assignment
 * to the package exports does nothing), and ESM imports of grpc-js share this CommonJS instance. Each
 * class they return gets its methods rebuilt the way grpc-js builds them, on the wrapped requesters.
 */
import type { ClientPrototype } from './client.ts';

interface MethodDefinition {
  path?: unknown;
  requestStream?: unknown;
  responseStream?: unknown;
  requestSerialize?: unknown;
  responseDeserialize?: unknown;
  originalName?: unknown;
}

type Requester = (this: unknown, ...args: unknown[]) => unknown;
type ServiceClass = (new (...args: never[]) => unknown) & { prototype: Record<string, unknown> };

export interface MakeClientModule {
  makeClientConstructor: (methods: Record<string, MethodDefinition>, ...rest: unknown[]) => unknown;
  loadPackageDefinition: (definition: Record<string, unknown>) => unknown;
}

export function isMakeClientModule(value: unknown): value is MakeClientModule {
  const module = value as Partial<MakeClientModule> | null;
  return typeof module?.makeClientConstructor === 'function' && typeof module.loadPackageDefinition === 'function';
}

// The names grpc-js refuses as methods or package components.
const POLLUTING = new Set(['__proto__', 'prototype', 'constructor']);

export function instrumentGeneratedClients(module: MakeClientModule, requesters: ClientPrototype): void {
  const { makeClientConstructor, loadPackageDefinition } = module;
  module.makeClientConstructor = function (methods, ...rest) {
    const made = makeClientConstructor.call(this, methods, ...rest);
    rebuildMethods(made, methods, requesters);
    return made;
  };
  module.loadPackageDefinition = function (definition) {
    const loaded = loadPackageDefinition.call(this, definition);
    try {
      for (const [name, service] of Object.entries(definition ?? {})) {
        // Message and enum definitions have a `format`; services do not (grpc-js's own test).
        if (typeof service !== 'object' || service === null || 'format' in service) continue;
        rebuildMethods(lookUp(loaded, name.split('.')), service as Record<string, MethodDefinition>, requesters);
      }
    } catch {
      // The classes not rebuilt yet still work; their calls are not traced.
    }
    return loaded;
  };
}

function lookUp(root: unknown, path: readonly string[]): unknown {
  let current = root;
  for (const component of path) {
    if (POLLUTING.has(component) || typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[component];
  }
  return current;
}

/** Points each method of a service class at the wrapped requester, as makeClientConstructor does. */
function rebuildMethods(made: unknown, methods: Record<string, MethodDefinition>, requesters: ClientPrototype): void {
  if (typeof made !== 'function' || typeof methods !== 'object' || methods === null) return;
  const prototype = (made as ServiceClass).prototype;
  try {
    for (const name of Object.keys(methods)) {
      if (POLLUTING.has(name)) continue;
      const definition = methods[name];
      const generated = prototype[name];
      if (definition === undefined || typeof generated !== 'function' || typeof definition.path !== 'string') continue;
      const method = requesterMethod(definition, requesters, definition.path);
      // grpc-js copies the method's definition onto the method (client.Get.path, .requestStream…).
      Object.assign(method, definition);
      prototype[name] = method;
      const { originalName } = definition;
      if (typeof originalName === 'string' && !POLLUTING.has(originalName) && prototype[originalName] === generated) {
        prototype[originalName] = method;
      }
    }
  } catch {
    // Methods already rebuilt stay so; the others keep grpc-js's own (untraced) ones.
  }
}

/**
 * grpc-js's own `partial`: the path and codecs bound, the call's arguments passed on. One fixed-arity
 * function per kind rather than a rest parameter: no array per call (missing optional arguments
 * arrive as undefined, which grpc-js reads as absent).
 */
function requesterMethod(definition: MethodDefinition, requesters: ClientPrototype, path: string): Requester {
  const { requestSerialize: serialize, responseDeserialize: deserialize } = definition;
  if (definition.requestStream) {
    if (definition.responseStream) {
      const bidi = requesters.makeBidiStreamRequest;
      return function (this: unknown, metadata?: unknown, options?: unknown) {
        return bidi.call(this as never, path, serialize, deserialize, metadata, options);
      };
    }
    const clientStream = requesters.makeClientStreamRequest;
    return function (this: unknown, metadata?: unknown, options?: unknown, callback?: unknown) {
      return clientStream.call(this as never, path, serialize, deserialize, metadata, options, callback);
    };
  }
  if (definition.responseStream) {
    const serverStream = requesters.makeServerStreamRequest;
    return function (this: unknown, argument?: unknown, metadata?: unknown, options?: unknown) {
      return serverStream.call(this as never, path, serialize, deserialize, argument, metadata, options);
    };
  }
  const unary = requesters.makeUnaryRequest;
  return function (this: unknown, argument?: unknown, metadata?: unknown, options?: unknown, callback?: unknown) {
    return unary.call(this as never, path, serialize, deserialize, argument, metadata, options, callback);
  };
}
