// A small store: one state object, replaced (never mutated) on each change, and subscribers that
// are told about every change. Views render from it; nothing else keeps UI state.

/**
 * @template S
 * @param {S} initial
 * @returns {{get: () => S, set: (patch: Partial<S> | ((s: S) => Partial<S>)) => void,
 *            subscribe: (fn: (state: S, previous: S) => void) => () => void}}
 */
export function createStore(initial) {
  let state = initial;
  const listeners = new Set();
  return {
    get: () => state,
    set(patch) {
      const previous = state;
      const change = typeof patch === "function" ? patch(state) : patch;
      if (!change) return;
      state = { ...state, ...change };
      for (const fn of [...listeners]) fn(state, previous);
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}

/**
 * Calls `fn(state)` now and whenever `select(state)` changes. `select` returns an array of the
 * values the caller depends on; a change is any element that differs by identity.
 */
export function watch(store, select, fn) {
  let last = select(store.get());
  fn(store.get());
  return store.subscribe((state) => {
    const next = select(state);
    if (next.length === last.length && next.every((v, i) => v === last[i])) return;
    last = next;
    fn(state);
  });
}
