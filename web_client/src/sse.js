// Server-Sent Events over fetch: POST bodies and Authorization headers rule out EventSource.

/** Yields {event, data} for each event in the response body; data is parsed JSON when it parses. */
export async function* readEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = "";
  let data = [];
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      // A lone "\r" at the end may be the first half of "\r\n": wait for the next chunk.
      let cut;
      while ((cut = nextLineEnd(buffer)) !== null) {
        const [end, next] = cut;
        const line = buffer.slice(0, end);
        buffer = buffer.slice(next);
        if (line === "") {
          if (data.length) yield { event: event || "message", data: parse(data.join("\n")) };
          event = "";
          data = [];
        } else {
          ({ event, data } = applyField(line, event, data));
        }
      }
    }
    // The spec drops an event cut off by the end of the body; a server that simply omits the
    // final blank line still means its last event, so it is kept.
    const last = buffer.replace(/\r$/, "");
    if (last) ({ event, data } = applyField(last, event, data));
    if (data.length) yield { event: event || "message", data: parse(data.join("\n")) };
  } finally {
    reader.releaseLock();
  }
}

function applyField(line, event, data) {
  if (line.startsWith(":")) return { event, data };
  const colon = line.indexOf(":");
  const field = colon < 0 ? line : line.slice(0, colon);
  let value = colon < 0 ? "" : line.slice(colon + 1);
  if (value.startsWith(" ")) value = value.slice(1);
  if (field === "event") return { event: value, data };
  if (field === "data") return { event, data: [...data, value] };
  return { event, data };
}

function nextLineEnd(buffer) {
  for (let i = 0; i < buffer.length; i++) {
    const ch = buffer[i];
    if (ch === "\n") return [i, i + 1];
    if (ch === "\r") {
      if (i + 1 === buffer.length) return null;
      return [i, buffer[i + 1] === "\n" ? i + 2 : i + 1];
    }
  }
  return null;
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
