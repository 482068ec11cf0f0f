// Saved prompts (src/prompts.js) through a fake API: ids, create-or-replace, delete, refusals.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiError } from "../src/api.js";
import { PromptLibrary, emptyPrompts, newId } from "../src/prompts.js";
import { createStore } from "../src/store.js";

function setup(fail = null) {
  const store = createStore({ prompts: emptyPrompts() });
  const errors = [];
  const api = {
    calls: [],
    stored: new Map(),
    async json(method, path, body) {
      api.calls.push([method, path, body]);
      if (fail) throw fail;
      const id = decodeURIComponent(path.split("/")[2] || "");
      if (method === "GET") return { items: [...api.stored.values()].reverse() };
      if (method === "PUT") {
        const prompt = { promptId: id, ...body, createdAt: "t", updatedAt: "t" };
        api.stored.set(id, prompt);
        return prompt;
      }
      if (method === "DELETE") {
        if (!api.stored.delete(id)) throw new ApiError(404, "not_found", "Prompt not found");
        return null;
      }
    },
  };
  return { store, api, errors, library: new PromptLibrary({ api, store, notify: (kind, err) => errors.push(err) }) };
}

test("ids are 26-character lowercase ULIDs that sort by time", () => {
  const a = newId(1_700_000_000_000);
  const b = newId(1_700_000_000_001);
  assert.match(a, /^[0-9a-z]{26}$/);
  assert.ok(a.slice(0, 10) < b.slice(0, 10));
  assert.equal(newId(0, (n) => new Uint8Array(n)), "0".repeat(26));
});

test("save creates with PUT and a fresh id, then replaces in place; load lists newest first", async () => {
  const { store, api, library } = setup();
  const first = await library.save({ title: " Translator ", text: "Translate to Korean." });
  assert.equal(api.calls[0][0], "PUT");
  assert.match(api.calls[0][1], /^\/prompts\/[0-9a-z]{26}$/);
  assert.deepEqual(api.calls[0][2], { title: "Translator", text: "Translate to Korean." });
  await library.save({ title: "Editor", text: "Fix grammar." });
  await library.save({ title: "Translator", text: "Translate to Japanese.", promptId: first.promptId });
  assert.deepEqual(store.get().prompts.items.map((p) => p.text), ["Fix grammar.", "Translate to Japanese."]);
  await library.load();
  assert.deepEqual(store.get().prompts.items.map((p) => p.title), ["Editor", "Translator"]);
});

test("empty prompts are not sent; a refusal is reported and changes nothing", async () => {
  const { store, api, library } = setup();
  assert.equal(await library.save({ title: " ", text: "x" }), null);
  assert.equal(api.calls.length, 0);
  const refused = setup(new ApiError(409, "prompt_limit", "You can keep at most 100 saved prompts"));
  assert.equal(await refused.library.save({ title: "t", text: "x" }), null);
  assert.equal(refused.errors[0].code, "prompt_limit");
  assert.deepEqual(refused.store.get().prompts.items, []);
  assert.deepEqual(store.get().prompts.items, []);
});

test("remove deletes (already gone counts as gone)", async () => {
  const { store, library } = setup();
  const saved = await library.save({ title: "t", text: "x" });
  assert.equal(await library.remove(saved.promptId), true);
  assert.equal(await library.remove(saved.promptId), true);
  assert.deepEqual(store.get().prompts.items, []);
});
