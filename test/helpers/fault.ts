// Fault injection for the "a bug must not take the daemon down" tests: the daemons run in the
// test process, so a prototype method can be made to throw once.

/** Make `proto[name]` throw `Error('injected fault')` on its next call only; returns the undo. */
export function throwOnce(proto: object, name: string): () => void {
  const target = proto as Record<string, unknown>;
  const original = target[name];
  target[name] = function injected(): never {
    target[name] = original;
    throw new Error('injected fault');
  };
  return () => {
    target[name] = original;
  };
}
