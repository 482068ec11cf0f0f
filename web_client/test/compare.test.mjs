// The headless comparison (src/compare.js) through a fake API, and the cost helpers (src/cost.js).
import assert from "node:assert/strict";
import { test } from "node:test";
import { CompareSession, laneBodies, laneNames } from "../src/compare.js";
import { conversationTotals, formatCost } from "../src/cost.js";
import { setLanguage } from "../src/i18n.js";
import { createStore } from "../src/store.js";

setLanguage("en");

function fakeApi(events) {
  const api = {
    calls: [],
    async *compareStream(body) {
      api.calls.push(body);
      for (const [event, data] of events) yield { event, data };
    },
    async stopLane(id, lane) {
      api.calls.push({ stop: [id, lane] });
    },
    async continueLane(id, lane) {
      api.calls.push({ continue: [id, lane] });
      return { id: "conv-of-lane" };
    },
  };
  return api;
}

const STREAM = [
  ["meta", { comparisonId: "cmp1", conversationIds: ["c0", "c1"], lanes: [{ lane: 0, model: "m", inferenceConfig: { temperature: 0.2 } }, { lane: 1, model: "m", inferenceConfig: { temperature: 1 } }] }],
  ["delta", { lane: 1, model: "m", text: "B" }],
  ["delta", { lane: 0, model: "m", text: "A" }],
  ["usage", { lane: 0, model: "m", inputTokens: 3, outputTokens: 1, costUsd: 0.0001 }],
  ["done", { lane: 0, model: "m", stopReason: "end_turn", latencyMs: 5, costUsd: 0.0001 }],
  ["error", { lane: 1, model: "m", code: "throttled", message: "slow down" }],
  ["done", { lanes: [], costUsd: 0.0001, latencyMs: 9 }],
];

test("lanes become the request's lanes: empty model and temperature are left out", () => {
  assert.deepEqual(laneBodies([{ model: "", temperature: "0.2" }, { model: "x", temperature: "" }]), [
    { inferenceConfig: { temperature: 0.2 } },
    { model: "x" },
  ]);
});

test("a comparison streams into its lanes; a throttled lane says so and the other completes", async () => {
  const store = createStore({});
  const api = fakeApi(STREAM);
  const compare = new CompareSession({ api, store, notify: () => {} });
  await compare.run("q");
  const state = store.get().compare;
  assert.equal(state.comparisonId, "cmp1");
  assert.deepEqual(api.calls[0].lanes, [{ inferenceConfig: { temperature: 0.2 } }, { inferenceConfig: { temperature: 1 } }]);
  assert.equal(state.results[0].text, "A");
  assert.equal(state.results[0].status, "complete");
  assert.equal(state.results[0].costUsd, 0.0001);
  assert.equal(state.results[1].status, "incomplete"); // it had said "B" before failing
  assert.equal(state.results[1].error, "slow down");
  assert.equal(state.totalCost, 0.0001);
  assert.equal(state.running, false);
  // A follow-up sends only the comparison id; the lanes are the stored ones
  await compare.run("again");
  assert.deepEqual(api.calls[1], { message: "again", comparisonId: "cmp1" });
  // Continue with lane 1's answer resolves to its conversation
  assert.equal(await compare.continueWith(1), "conv-of-lane");
  assert.deepEqual(api.calls[2], { continue: ["cmp1", 1] });
  assert.equal(store.get().compare.comparisonId, null);
});

test("a lane's notice (history_shortened) is kept on that lane only", async () => {
  const store = createStore({});
  const notice = ["notice", { lane: 1, model: "m", code: "history_shortened", message: "older messages left out" }];
  const compare = new CompareSession({ api: fakeApi([STREAM[0], notice, ...STREAM.slice(1)]), store, notify: () => {} });
  await compare.run("q");
  const { results } = store.get().compare;
  assert.deepEqual(results[1].notices, ["older messages left out"]);
  assert.equal(results[0].notices, undefined);
});

test("lanes are 2 to 4 and fixed once the comparison exists", () => {
  const store = createStore({});
  const compare = new CompareSession({ api: fakeApi([]), store, notify: () => {} });
  compare.addLane();
  compare.addLane();
  compare.addLane();
  assert.equal(store.get().compare.lanes.length, 4);
  for (let i = 0; i < 5; i++) compare.removeLane(0);
  assert.equal(store.get().compare.lanes.length, 2);
});

test("costs read as people write them and sum over a conversation", () => {
  assert.equal(formatCost(0), "$0");
  assert.equal(formatCost(0.00054), "$0.000540");
  assert.equal(formatCost(12.5), "$12.50");
  assert.equal(formatCost(null), "");
  const totals = conversationTotals([
    { role: "user" },
    { role: "assistant", usage: { inputTokens: 10, outputTokens: 5, costUsd: 0.001 } },
    { role: "assistant", usage: { inputTokens: 1, outputTokens: 2 }, costUsd: 0.002 },
  ]);
  assert.deepEqual(totals, { answers: 2, input: 11, output: 7, cost: 0.003 });
  assert.equal(conversationTotals([{ role: "assistant", usage: { inputTokens: 1, outputTokens: 1 } }]).cost, null);
});

test("a stored comparison is listed, reopened with its lanes' newest answers, followed up and deleted", async () => {
  const store = createStore({});
  const stored = {
    id: "cmp9", title: "rain", createdAt: "2026-12-04T10:00:00Z", updatedAt: "2026-12-04T10:01:00Z", system: null, continuedAs: null,
    lanes: [
      { lane: 0, model: "m", inferenceConfig: { temperature: 0.2 }, conversationId: "c0", messages: [{ role: "user", content: "q" }, { role: "assistant", content: "A0", costUsd: 0 }] },
      { lane: 1, model: "n", inferenceConfig: {}, conversationId: "c1", messages: [{ role: "user", content: "q" }, { role: "assistant", content: "B0", costUsd: 0 }] },
    ],
  };
  const api = fakeApi([]);
  api.json = async (method, path) => {
    api.calls.push({ [method]: path });
    if (method === "GET" && path.startsWith("/comparisons?")) return { items: [stored], nextCursor: null };
    if (method === "GET") return stored;
    return null;
  };
  const compare = new CompareSession({ api, store, notify: () => {} });
  compare.toggle(true);
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(store.get().compare.recent.map((c) => c.id), ["cmp9"]);
  await compare.open("cmp9");
  let state = store.get().compare;
  assert.equal(state.comparisonId, "cmp9");
  assert.deepEqual(state.lanes, [{ model: "m", temperature: "0.2" }, { model: "n", temperature: "" }]);
  assert.deepEqual(state.results.map((r) => [r.text, r.status, r.conversationId]), [["A0", "complete", "c0"], ["B0", "complete", "c1"]]);
  await compare.run("more");
  assert.deepEqual(api.calls.at(-1), { message: "more", comparisonId: "cmp9" });
  await compare.remove("cmp9");
  state = store.get().compare;
  assert.deepEqual(api.calls.at(-1), { DELETE: "/comparisons/cmp9" });
  assert.equal(state.comparisonId, null);
  assert.deepEqual(state.recent, []);
});

test("the API's 0-based lane fields read as the page's lane labels", () => {
  assert.equal(laneNames("lanes[1]: is identical to lanes[0]"), "Lane 2: is identical to Lane 1");
  assert.equal(laneNames("lanes[2].inferenceConfig.temperature: 5 is out of range"), "Lane 3.inferenceConfig.temperature: 5 is out of range");
});
