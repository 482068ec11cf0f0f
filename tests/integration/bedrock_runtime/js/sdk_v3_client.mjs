// Drives the local runtime with the AWS SDK for JavaScript v3's *default* BedrockRuntimeClient
// (HTTP/2 handler), from the repository's root node_modules (`npm ci`, run by `make test`).
// Prints one JSON line with what it saw; the pytest test asserts on it.
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  InvokeModelWithResponseStreamCommand,
  CountTokensCommand,
} from "@aws-sdk/client-bedrock-runtime";

const endpoint = process.argv[2];
const modelId = process.argv[3];
const client = new BedrockRuntimeClient({
  region: "us-east-1",
  endpoint,
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
});
const messages = [{ role: "user", content: [{ text: "Say hello to the JavaScript SDK." }] }];
const out = {};

// Plain calls share one pooled HTTP/2 session: sequential, then concurrent streams on it.
const texts = [];
for (let i = 0; i < 3; i++) {
  const converse = await client.send(new ConverseCommand({ modelId, messages }));
  texts.push(converse.output.message.content[0].text);
}
const concurrent = await Promise.all([0, 1, 2].map(() => client.send(new ConverseCommand({ modelId, messages }))));
texts.push(...concurrent.map((r) => r.output.message.content[0].text));
out.converseTexts = texts;

out.streams = [];
for (let i = 0; i < 5; i++) {
  const stream = await client.send(new ConverseStreamCommand({ modelId, messages }));
  const events = [];
  let text = "";
  for await (const event of stream.stream) {
    const name = Object.keys(event).find((k) => event[k] !== undefined && k !== "$unknown");
    events.push(name);
    if (event.contentBlockDelta) text += event.contentBlockDelta.delta.text ?? "";
  }
  out.streams.push({ first: events[0], last: events.at(-1), text });
}

const body = JSON.stringify({
  anthropic_version: "bedrock-2023-05-31",
  max_tokens: 64,
  messages: [{ role: "user", content: [{ type: "text", text: "Native body from JS." }] }],
});
const invoke = await client.send(
  new InvokeModelWithResponseStreamCommand({ modelId: "anthropic.claude-3-haiku-20240307-v1:0", body, contentType: "application/json" }),
);
out.invokeTypes = [];
for await (const event of invoke.body) {
  if (event.chunk) out.invokeTypes.push(JSON.parse(new TextDecoder().decode(event.chunk.bytes)).type);
}

const counted = await client.send(new CountTokensCommand({ modelId, input: { converse: { messages } } }));
out.inputTokens = counted.inputTokens;
console.log(JSON.stringify(out));
