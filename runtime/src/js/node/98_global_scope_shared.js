// Copyright Actionflow authors. Apache-2.0.
// What deno_node's polyfills read from deno_runtime's global scope module: the console they wrap
// (`node:console`) is the action's console, whose lines become the execution's logs.
export const windowOrWorkerGlobalScope = {
  console: { get: () => globalThis.console, enumerable: false, configurable: true },
};
