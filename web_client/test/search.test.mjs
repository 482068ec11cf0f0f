// Search conversations (src/search.js) through a fake API: debounce, empty query, stale answers, errors.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiError } from "../src/api.js";
import { setLanguage } from "../src/i18n.js";
import { ConversationSearch, emptySearch } from "../src/search.js";
import { createStore } from "../src/store.js";

setLanguage("en");

function setup(answer) {
  const store = createStore({ search: emptySearch() });
  const timers = [];
  const api = { calls: [], json: async (method, path) => (api.calls.push([method, path]), answer(path)) };
  const search = new ConversationSearch({ api, store, setTimer: (fn) => timers.push(fn), clearTimer: () => timers.splice(0) });
  return { store, api, search, timers };
}

test("typing searches once after the pause, with the query encoded", async () => {
  const { store, api, search, timers } = setup(() => ({ items: [{ conversationId: "c1", title: "Paris", messageId: null, snippet: "Paris" }] }));
  search.input("pa");
  search.input(" paris & co ");
  assert.equal(timers.length, 1, "the first keystroke's timer was cleared");
  assert.equal(store.get().search.loading, true);
  await timers[0]();
  assert.deepEqual(api.calls, [["GET", "/search?q=paris+%26+co&limit=20"]]);
  assert.equal(store.get().search.items[0].title, "Paris");
  assert.equal(store.get().search.loading, false);
});

test("an empty box clears the results and cancels the pending search", async () => {
  const { store, api, search, timers } = setup(() => ({ items: [] }));
  search.input("x");
  search.input("   ");
  assert.equal(timers.length, 0);
  assert.deepEqual(store.get().search, emptySearch());
  assert.equal(api.calls.length, 0);
});

test("an older query's late answer never replaces a newer one", async () => {
  let release;
  const slow = new Promise((resolve) => (release = resolve));
  const { store, search } = setup((path) => (path.includes("old") ? slow : { items: [{ title: "new" }] }));
  const first = search.run("old");
  await search.run("new");
  release({ items: [{ title: "old" }] });
  assert.deepEqual(await first, []);
  assert.equal(store.get().search.items[0].title, "new");
});

test("a refused search shows the server's sentence", async () => {
  const { store, search } = setup(() => {
    throw new ApiError(400, "invalid_request", "q is longer than 200 characters");
  });
  await search.run("x");
  assert.match(store.get().search.error, /200 characters/);
});
