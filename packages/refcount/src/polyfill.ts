/**
 * `Symbol.dispose` and `Symbol.asyncDispose` for Node 20.0–20.3, which lack them (Node 20.4
 * added them). Without them every `[Symbol.dispose]()` method of a class is named
 * "undefined", and a proxy's `[Symbol.asyncDispose]()` calling `this[Symbol.dispose]()` calls
 * itself for ever. Every @managers package loads this first (through @managers/refcount), so
 * TypeScript's `using` / `await using` work on our objects on every supported Node. The
 * symbols are the registered ones Node's own code uses for these names on such versions.
 */
const symbols = Symbol as { dispose?: symbol; asyncDispose?: symbol };
symbols.dispose ??= Symbol.for('nodejs.dispose');
symbols.asyncDispose ??= Symbol.for('nodejs.asyncDispose');

export {};
