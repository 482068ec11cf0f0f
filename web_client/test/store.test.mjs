import assert from "node:assert/strict";
import { test } from "node:test";
import { createStore, watch } from "../src/store.js";

test("set replaces the state and tells subscribers; watch fires only when its selection changes", () => {
  const store = createStore({ a: 1, b: { x: 1 } });
  const first = store.get();
  const calls = [];
  const stop = watch(store, (s) => [s.b], (s) => calls.push(s.b.x));
  store.set({ a: 2 });
  store.set((s) => ({ b: { x: s.b.x + 1 } }));
  store.set(() => null);
  stop();
  store.set({ b: { x: 9 } });
  assert.deepEqual(calls, [1, 2]);
  assert.equal(first.a, 1, "the old state object is never mutated");
  assert.equal(store.get().a, 2);
});
