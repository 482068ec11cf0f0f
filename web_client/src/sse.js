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
        } else if (!line.startsWith(":")) {
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          let val = colon < 0 ? "" : line.slice(colon + 1);
          if (val.startsWith(" ")) val = val.slice(1);
          if (field === "event") event = val;
          else if (field === "data") data.push(val);
        }
      }
    }
    if (data.length) yield { event: event || "message", data: parse(data.join("\n")) };
  } finally {
    reader.releaseLock();
  }
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
