// The SSE parser against the byte splits a network really produces (node --test, no dependencies).
import assert from "node:assert/strict";
import { test } from "node:test";
import { readEvents } from "../src/sse.js";

function responseOf(chunks) {
  const encoder = new TextEncoder();
  const body = new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
      controller.close();
    },
  });
  return { body };
}

async function collect(chunks) {
  const events = [];
  for await (const event of readEvents(responseOf(chunks))) events.push(event);
  return events;
}

const STREAM =
  'event: meta\ndata: {"conversationId":"c1"}\n\n' +
  'event: delta\ndata: {"text":"Hel"}\n\n' +
  'event: delta\ndata: {"text":"lo ✓"}\n\n' +
  'event: done\ndata: {"stopReason":"end_turn"}\n\n';

const EXPECTED = [
  { event: "meta", data: { conversationId: "c1" } },
  { event: "delta", data: { text: "Hel" } },
  { event: "delta", data: { text: "lo ✓" } },
  { event: "done", data: { stopReason: "end_turn" } },
];

test("one chunk holding every event", async () => {
  assert.deepEqual(await collect([STREAM]), EXPECTED);
});

test("split at every possible byte, including inside a multi-byte character", async () => {
  const bytes = new TextEncoder().encode(STREAM);
  for (let cut = 1; cut < bytes.length; cut++) {
    assert.deepEqual(await collect([bytes.slice(0, cut), bytes.slice(cut)]), EXPECTED, `cut at ${cut}`);
  }
});

test("one byte at a time", async () => {
  const bytes = new TextEncoder().encode(STREAM);
  assert.deepEqual(await collect([...bytes].map((b) => new Uint8Array([b]))), EXPECTED);
});

test("CRLF and CR line endings, even when CRLF is split across chunks", async () => {
  const crlf = STREAM.replaceAll("\n", "\r\n");
  assert.deepEqual(await collect([crlf]), EXPECTED);
  const at = crlf.indexOf("\r\n") + 1;
  assert.deepEqual(await collect([crlf.slice(0, at), crlf.slice(at)]), EXPECTED);
  assert.deepEqual(await collect([STREAM.replaceAll("\n", "\r")]), EXPECTED);
});

test("comments, multi-line data, unnamed events and a last event without a blank line", async () => {
  const text = ": keep-alive\n\ndata: first\ndata: second\n\nevent: usage\ndata: {\"outputTokens\":3}";
  assert.deepEqual(await collect([text]), [
    { event: "message", data: "first\nsecond" },
    { event: "usage", data: { outputTokens: 3 } },
  ]);
});
