// The headless chat session (src/session.js) driven through a fake API: what a turn puts in the
// store, from the first event to the last, including refusals, failures, Stop and Continue.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiError } from "../src/api.js";
import { setLanguage } from "../src/i18n.js";
import { ChatSession, emptyConversation } from "../src/session.js";
import { createStore } from "../src/store.js";

setLanguage("en");

/** A fake API whose POST /chat answers with `script(body)`: a list of [event, data] or an Error. */
function fakeApi(script = () => []) {
  const api = {
    calls: [],
    async *stream(path, body, signal) {
      api.calls.push({ path, body });
      for (const step of script(body, path)) {
        if (signal.aborted) throw new DOMException("aborted", "AbortError");
        if (step instanceof Error) throw step;
        if (typeof step === "function") await step(signal);
        else yield { event: step[0], data: step[1] };
      }
    },
    async getConversation(id) {
      if (id === "gone") throw new ApiError(404, "not_found", "");
      return {
        id, title: "Stored", model: "m1", system: "be brief",
        messages: [
          { id: "u1", role: "user", content: "hi" },
          { id: "a1", role: "assistant", content: "hello", status: "stopped", usage: { inputTokens: 1, outputTokens: 2 } },
        ],
      };
    },
    patches: [],
    async updateConversation(id, patch) {
      api.patches.push({ id, patch });
      return { id, ...patch };
    },
  };
  return api;
}

function setup(script, extra = {}) {
  const store = createStore({ conversation: emptyConversation(), busy: null, loading: false, settingsStatus: "", presets: [], defaultModel: "m-default", ...extra });
  const notes = [];
  const api = fakeApi(script);
  const session = new ChatSession({ api, store, upload: extra.upload, notify: (kind, value) => notes.push([kind, value]) });
  return { store, api, session, notes };
}

const ANSWER = [
  ["meta", { conversationId: "c1", model: "m-default", messageId: "a1", userMessageId: "u1" }],
  ["delta", { text: "Hel" }],
  ["delta", { text: "lo" }],
  ["usage", { inputTokens: 3, outputTokens: 2 }],
  ["done", { stopReason: "end_turn" }],
];

test("a turn streams into the store: user message, growing answer, adopted conversation id", async () => {
  const { store, api, session, notes } = setup(() => ANSWER);
  const seen = [];
  store.subscribe((s) => seen.push(s.conversation.messages.at(-1)?.content));
  store.set((s) => ({ conversation: { ...s.conversation, system: "Answer like a pirate." } }));

  const busyDuring = [];
  store.subscribe((s) => busyDuring.push(s.busy));
  const outcome = await session.send({ text: "  hello there " });

  assert.deepEqual(outcome, { accepted: true });
  assert.deepEqual(api.calls[0], { path: "/chat", body: { message: "hello there", model: "m-default", system: "Answer like a pirate." } });
  const { conversation, busy } = store.get();
  assert.equal(conversation.id, "c1");
  assert.deepEqual(conversation.messages.map((m) => [m.role, m.content]), [["user", "hello there"], ["assistant", "Hello"]]);
  const answer = conversation.messages[1];
  assert.equal(answer.status, "complete");
  assert.equal(answer.stopReason, "end_turn");
  assert.equal(answer.id, "a1");
  assert.equal(conversation.messages[0].id, "u1", "the user message learns its stored id");
  assert.deepEqual(answer.usage, { inputTokens: 3, outputTokens: 2 });
  assert.ok(seen.includes("Hel"), "the partial answer was in the store before the end");
  assert.ok(busyDuring.includes("chat"), "busy while the answer streams");
  assert.equal(busy, null);
  assert.ok(notes.some(([kind]) => kind === "turn-ended"));
});

test("the next turn names the conversation and no longer sends the system prompt", async () => {
  const { api, session } = setup(() => ANSWER);
  await session.send({ text: "one" });
  await session.send({ text: "two" });
  assert.deepEqual(api.calls[1].body, { message: "two", model: "m-default", conversationId: "c1" });
});

test("a turn refused before any event leaves nothing behind and reports the error", async () => {
  const { store, session, notes } = setup(() => [new ApiError(429, "throttled", "slow down")]);
  const outcome = await session.send({ text: "busy?" });
  assert.equal(outcome.accepted, false);
  assert.equal(outcome.error.status, 429);
  assert.deepEqual(store.get().conversation.messages, []);
  assert.equal(store.get().busy, null);
  assert.ok(notes.some(([kind, value]) => kind === "error" && value.status === 429));
});

test("a stream that fails midway keeps the partial answer, marked incomplete with a sentence", async () => {
  const { store, session } = setup(() => [ANSWER[0], ANSWER[1], ["error", { code: "upstream_error", message: "" }]]);
  const outcome = await session.send({ text: "go" });
  assert.equal(outcome.accepted, true);
  const answer = store.get().conversation.messages[1];
  assert.equal(answer.content, "Hel");
  assert.equal(answer.status, "incomplete");
  assert.match(answer.error, /model service had a problem/);
});

test("Stop aborts the running answer; it is kept as stopped and the session is free again", async () => {
  let release;
  const waitForStop = (signal) => new Promise((resolve) => { release = resolve; signal.addEventListener("abort", resolve); });
  const { store, session } = setup(() => [ANSWER[0], ANSWER[1], waitForStop, ANSWER[2]]);
  const sending = session.send({ text: "long" });
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(store.get().busy, "chat");
  session.stop();
  await sending;
  const answer = store.get().conversation.messages[1];
  assert.equal(answer.status, "stopped");
  assert.equal(answer.content, "Hel");
  assert.equal(store.get().busy, null);
  assert.ok(release);
});

test("a second send while an answer streams is refused", async () => {
  const gate = (signal) => new Promise((resolve) => signal.addEventListener("abort", resolve));
  const { session, api } = setup(() => [ANSWER[0], gate]);
  const first = session.send({ text: "one" });
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(await session.send({ text: "two" }), { accepted: false });
  session.stop();
  await first;
  assert.equal(api.calls.length, 1);
});

test("an answer cut at max_tokens carries the stop reason, and Continue asks for the rest", async () => {
  const { store, api, session } = setup(() => [ANSWER[0], ANSWER[1], ["done", { stopReason: "max_tokens" }]]);
  await session.send({ text: "write a lot" });
  assert.equal(store.get().conversation.messages[1].stopReason, "max_tokens");
  await session.continueAnswer();
  assert.equal(api.calls[1].body.conversationId, "c1");
  assert.match(api.calls[1].body.message, /^Continue/);
  assert.equal(store.get().conversation.messages.length, 4);
});

test("images go as upload ids; without text or task the description preset is asked", async () => {
  const presets = [{ name: "description", label: "Describe", prompt: "Describe the image in detail." }, { name: "caption", label: "Caption", prompt: "Caption it." }];
  const { store, api, session } = setup(() => ANSWER, { presets });
  const images = [{ url: "blob:1", name: "a.png", uploadId: "up1" }];
  await session.send({ images });
  assert.deepEqual(api.calls[0].body.attachments, ["up1"]);
  assert.equal(api.calls[0].body.message, "Describe the image in detail.");
  assert.deepEqual(store.get().conversation.messages[0].images, [{ url: "blob:1", name: "a.png" }]);
  await session.send({ images, preset: "caption" });
  assert.equal(api.calls[1].body.preset, "caption");
  assert.equal(api.calls[1].body.message, "");
  assert.equal(store.get().conversation.messages[2].content, "Caption", "the user message shows the task's label");
});

test("open() loads a stored conversation; a missing one falls back to a new chat, quietly when asked", async () => {
  const { store, session, notes } = setup();
  assert.equal(await session.open("c9"), true);
  const conv = store.get().conversation;
  assert.equal(conv.title, "Stored");
  assert.deepEqual(conv.messages.map((m) => [m.id, m.role, m.status, m.stored]), [["u1", "user", "complete", true], ["a1", "assistant", "stopped", true]]);
  assert.equal(store.get().loading, false);

  assert.equal(await session.open("gone", { quiet: true }), false);
  assert.deepEqual(store.get().conversation, emptyConversation());
  assert.equal(notes.filter(([k]) => k === "error").length, 0);
  await session.open("gone");
  assert.equal(notes.filter(([k]) => k === "error").length, 1);
});

test("a slow open() that is overtaken by a newer one does not overwrite it", async () => {
  const { store, session, api } = setup();
  const slow = api.getConversation;
  api.getConversation = async (id) => {
    if (id === "slow") await new Promise((r) => setTimeout(r, 20));
    return slow(id);
  };
  const first = session.open("slow");
  await session.open("fast");
  await first;
  assert.equal(store.get().conversation.id, "fast");
});

test("settings of a new chat wait for its first turn; an existing conversation's are saved", async () => {
  const { store, api, session } = setup(() => ANSWER);
  await session.saveSettings({ system: "terse" });
  assert.equal(store.get().settingsStatus, "pending");
  assert.equal(api.patches.length, 0);
  await session.send({ text: "hi" });
  assert.equal(api.calls[0].body.system, "terse");
  assert.equal(store.get().settingsStatus, "", "the pending note no longer applies once the conversation exists");
  await session.saveSettings({ model: "m2" });
  assert.deepEqual(api.patches, [{ id: "c1", patch: { model: "m2" } }]);
  assert.equal(store.get().settingsStatus, "saved");
  assert.equal(store.get().conversation.model, "m2");
});

test("a document is uploaded, then its summary streams in with progress, in this conversation", async () => {
  const stages = [];
  const upload = async (_api, file, { onProgress, onStage }) => {
    onStage("uploading");
    onProgress(0.5);
    stages.push("uploaded");
    onStage("checking");
    return { uploadId: "doc1" };
  };
  const script = (_body, path) => (path.startsWith("/documents/") ? [ANSWER[0], ["progress", { done: 1, total: 2 }], ["progress", { done: 2, total: 2 }], ["delta", { text: "Summary." }], ANSWER[4]] : ANSWER);
  const { store, api, session } = setup(script, { upload });
  await session.summariseDocument({ name: "report.pdf", size: 1234 });
  assert.equal(api.calls[0].path, "/documents/doc1/summary");
  const [doc, answer] = store.get().conversation.messages;
  assert.equal(doc.role, "document");
  assert.equal(doc.stage, "done");
  assert.equal(doc.upload, 1);
  assert.deepEqual([doc.done, doc.total], [2, 2]);
  assert.equal(answer.content, "Summary.");
  assert.equal(store.get().conversation.id, "c1");
  assert.equal(store.get().busy, null);
});

test("a document the server refuses shows why on its card, and nothing is summarised", async () => {
  const upload = async () => {
    throw new ApiError(415, "unsupported_media_type", "not a real PDF");
  };
  const { store, api, session } = setup(() => ANSWER, { upload });
  await session.summariseDocument({ name: "fake.pdf", size: 10 });
  const [doc] = store.get().conversation.messages;
  assert.equal(doc.stage, "failed");
  assert.match(doc.error, /not a real PDF/);
  assert.equal(api.calls.length, 0);
  assert.equal(store.get().busy, null);
});

test("regenerate asks for a new answer to the same question and keeps the earlier one browsable", async () => {
  let n = 0;
  const { store, api, session } = setup(() => {
    n += 1;
    return [["meta", { conversationId: "c1", messageId: `a${n}`, userMessageId: "u1" }], ["delta", { text: `answer ${n}` }], ["done", { stopReason: "end_turn" }]];
  });
  await session.send({ text: "q" });
  const key = store.get().conversation.messages[1].key;
  await session.regenerate(key);
  assert.deepEqual(api.calls[1].body, { conversationId: "c1", regenerate: "a1", model: "m-default" });
  let answer = store.get().conversation.messages[1];
  assert.equal(store.get().conversation.messages.length, 2, "still one question, one answer");
  assert.equal(answer.content, "answer 2");
  assert.deepEqual(answer.versions.map((v) => v.content), ["answer 1", "answer 2"]);
  assert.equal(answer.version, 1);
  session.showVersion(key, 0);
  answer = store.get().conversation.messages[1];
  assert.equal(answer.content, "answer 1");
  assert.equal(answer.id, "a1");
});

test("a regenerate the server refuses puts the answer back as it was", async () => {
  let n = 0;
  const { store, session } = setup(() => (++n === 1 ? ANSWER : [new ApiError(400, "invalid_request", "regenerate is not supported")]));
  await session.send({ text: "q" });
  const before = store.get().conversation.messages;
  const outcome = await session.regenerate(before[1].key);
  assert.equal(outcome.accepted, false);
  assert.deepEqual(store.get().conversation.messages, before);
});

test("edit and resend continues from the edited message; refused, everything comes back", async () => {
  let n = 0;
  const { store, api, session } = setup(() => (++n === 3 ? [new ApiError(429, "throttled", "")] : ANSWER));
  await session.send({ text: "first" });
  await session.send({ text: "second" });
  const firstKey = store.get().conversation.messages[0].key;
  await session.edit(firstKey, "first, edited");
  // Nothing stored yet on this turn (refused): the four messages are back
  assert.equal(store.get().conversation.messages.length, 4);
  assert.equal(store.get().conversation.messages[0].content, "first");
  n = 3; // the next call answers
  await session.edit(firstKey, " first, edited ");
  assert.deepEqual(api.calls.at(-1).body, { conversationId: "c1", editOf: "u1", message: "first, edited", model: "m-default" });
  assert.deepEqual(store.get().conversation.messages.map((m) => [m.role, m.content]), [["user", "first, edited"], ["assistant", "Hello"]]);
});

test("feedback is a PUT on the answer, shown at once and put back when refused", async () => {
  const { store, api, session, notes } = setup(() => ANSWER);
  const puts = [];
  api.json = async (method, path, body) => {
    puts.push({ method, path, body });
    if (body.reason === "fail") throw new ApiError(500, "internal", "");
    return null;
  };
  await session.send({ text: "q" });
  const key = store.get().conversation.messages[1].key;
  assert.equal(await session.rate(key, "down", " wrong year "), true);
  assert.deepEqual(puts[0], { method: "PUT", path: "/conversations/c1/messages/a1/feedback", body: { rating: "down", reason: "wrong year" } });
  assert.deepEqual(store.get().conversation.messages[1].feedback, { rating: "down", reason: "wrong year" });
  assert.equal(await session.rate(key, "up", "fail"), false);
  assert.deepEqual(store.get().conversation.messages[1].feedback, { rating: "down", reason: "wrong year" });
  assert.ok(notes.some(([kind]) => kind === "error"));
  assert.equal(await session.rate(key, "sideways"), false);
});

test("a stored answer with earlier versions is browsable after reload (1 / 2), newest shown", async () => {
  const { fromStored } = await import("../src/session.js");
  const m = fromStored({
    id: "a2", role: "assistant", content: "second", versionOf: "a1",
    versions: [{ id: "a1", role: "assistant", content: "first", status: "complete", supersededBy: "a2" }],
  });
  assert.equal(m.version, 1);
  assert.deepEqual(m.versions.map((v) => [v.id, v.content]), [["a1", "first"], ["a2", "second"]]);
  assert.equal(fromStored({ id: "u1", role: "user", content: "hi", versions: [{ id: "u0", content: "old" }] }).versions, undefined);
});

test("images of stored questions get thumbnails from short-lived view URLs after reload", async () => {
  const asked = [];
  const api = {
    async getConversation(id) {
      return {
        id, title: "Pics", messages: [
          { id: "u1", role: "user", content: "what is this?", attachments: [{ uploadId: "img1", kind: "image", filename: "cat.png" }, { uploadId: "gone", kind: "image", filename: "old.png" }] },
          { id: "a1", role: "assistant", content: "a cat" },
          { id: "u2", role: "user", content: "and this doc", attachments: [{ uploadId: "d1", kind: "document", filename: "a.pdf" }] },
        ],
      };
    },
    async json(method, path) {
      asked.push(`${method} ${path}`);
      if (path.includes("gone")) throw new ApiError(404, "not_found", "No such upload");
      return { url: "https://bucket.s3/x?X-Amz-Signature=abc", expiresIn: 300 };
    },
  };
  const store = createStore({ conversation: emptyConversation(), busy: null });
  const session = new ChatSession({ api, store, upload: async () => ({}) });
  await session.open("c1");
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(asked.sort(), ["GET /uploads/gone/view-url", "GET /uploads/img1/view-url"]);
  const [question, , doc] = store.get().conversation.messages;
  assert.deepEqual(question.images, [{ url: "https://bucket.s3/x?X-Amz-Signature=abc", name: "cat.png", uploadId: "img1" }]);
  assert.deepEqual(doc.images, []);
});

test("tool steps stream into the answer as steps, results completing them", async () => {
  const { store, session } = setup(() => [
    ["meta", { conversationId: "c1", model: "m-default", messageId: "a1", userMessageId: "u1" }],
    ["tool_use", { id: "t1", name: "current_time", input: { timezone: "Asia/Tokyo" } }],
    ["tool_result", { id: "t1", name: "current_time", status: "success", preview: "Mon 30 Nov, 06:12", output: "Mon 30 Nov, 06:12 JST" }],
    ["delta", { text: "It is 06:12." }],
    ["done", { stopReason: "end_turn" }],
  ]);
  await session.send({ text: "time in Tokyo?" });
  const answer = store.get().conversation.messages[1];
  assert.deepEqual(answer.steps, [
    { id: "t1", name: "current_time", input: { timezone: "Asia/Tokyo" }, status: "success", preview: "Mon 30 Nov, 06:12", output: "Mon 30 Nov, 06:12 JST" },
  ]);
  assert.equal(answer.content, "It is 06:12.");
});

test("tools chosen before the first turn are sent with it", async () => {
  const { session, api } = setup(() => ANSWER);
  await session.saveSettings({ tools: ["calculator"] });
  await session.send({ text: "2+2?" });
  assert.deepEqual(api.calls[0].body.tools, ["calculator"]);
});

test("stored tool-step messages fold into the answer after them", async () => {
  const { fromStoredList } = await import("../src/session.js");
  const messages = fromStoredList([
    { id: "u1", role: "user", content: "time?" },
    { id: "s1", role: "assistant", toolStep: true, content: "", blocks: [{ toolUse: { toolUseId: "t1", name: "current_time", input: { timezone: "UTC" } } }] },
    { id: "s2", role: "user", toolStep: true, content: "", blocks: [{ toolResult: { toolUseId: "t1", status: "success", content: [{ text: "12:00 UTC" }] } }] },
    { id: "a1", role: "assistant", content: "Noon." },
  ]);
  assert.deepEqual(messages.map((m) => m.id), ["u1", "a1"]);
  assert.deepEqual(messages[1].steps, [{ id: "t1", name: "current_time", input: { timezone: "UTC" }, status: "success", output: "12:00 UTC", preview: "12:00 UTC" }]);
});
