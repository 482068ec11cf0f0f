// The REST client (docs/api.md). Every failure becomes an ApiError with a status and the
// server's machine code, and `describeError` turns it into words a person understands.
import { readEvents } from "./sse.js";
import { DOCUMENT_NAMES, IMAGE_NAMES, formatBytes } from "./filetypes.js";
import { t } from "./i18n.js";

export class ApiError extends Error {
  constructor(status, code, message, detail = {}) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

export class Api {
  /**
   * @param {string} base e.g. "/api"
   * @param {import("./auth.js").Auth} auth
   */
  constructor(base, auth) {
    this.base = base;
    this.auth = auth;
  }

  async headers(extra = {}, forceRefresh = false) {
    const headers = { ...extra };
    const token = await this.auth.bearer({ forceRefresh });
    if (token) headers.Authorization = `Bearer ${token}`;
    else if (this.auth.enabled) throw new ApiError(401, "unauthenticated", "Signed out");
    return headers;
  }

  /** fetch with auth; one retry with refreshed tokens after a 401. Resolves only for 2xx. */
  async send(method, path, { body, accept = "application/json", signal } = {}) {
    const init = { method, signal, credentials: "same-origin" };
    const base = { Accept: accept };
    if (body !== undefined) {
      base["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        response = await fetch(this.base + path, { ...init, headers: await this.headers(base, attempt > 0) });
      } catch (err) {
        if (err.name === "AbortError" || err instanceof ApiError) throw err;
        throw new ApiError(0, "network", "Network error");
      }
      if (response.status !== 401 || !this.auth.enabled) break;
    }
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  async json(method, path, body) {
    const response = await this.send(method, path, { body });
    return response.status === 204 ? null : response.json();
  }

  /**
   * POSTs and yields the SSE events of the answer. A server that answers JSON instead (no
   * streaming on the path) is turned into the same events so callers have one code path.
   */
  async *stream(path, body, signal) {
    const response = await this.send("POST", path, { body, accept: "text/event-stream", signal });
    const type = response.headers.get("Content-Type") || "";
    if (!type.includes("text/event-stream")) {
      const data = await response.json();
      yield { event: "meta", data };
      yield { event: "delta", data: { text: data.answer ?? data.summary ?? "" } };
      if (data.usage) yield { event: "usage", data: data.usage };
      yield { event: "done", data: { stopReason: data.stopReason, latencyMs: data.latencyMs } };
      return;
    }
    yield* readEvents(response);
  }

  listConversations(cursor) {
    const q = new URLSearchParams({ limit: "30" });
    if (cursor) q.set("cursor", cursor);
    return this.json("GET", `/conversations?${q}`);
  }

  /** The conversation with all its messages (follows nextCursor, bounded). */
  async getConversation(id) {
    const path = `/conversations/${encodeURIComponent(id)}`;
    const first = await this.json("GET", `${path}?limit=50`);
    const messages = [...(first.messages || [])];
    let cursor = first.nextCursor;
    for (let page = 0; cursor && page < 20; page++) {
      const more = await this.json("GET", `${path}?${new URLSearchParams({ limit: "50", cursor })}`);
      messages.push(...(more.messages || []));
      cursor = more.nextCursor;
    }
    return { ...first, messages };
  }

  updateConversation(id, patch) {
    return this.json("PATCH", `/conversations/${encodeURIComponent(id)}`, patch);
  }

  /** POST /compare as SSE: {lane}-tagged events (docs/api.md); aborting `signal` stops every lane. */
  compareStream(body, signal) {
    return this.stream("/compare", body, signal);
  }

  /** Stops one lane of a running comparison; the others go on. */
  stopLane(comparisonId, lane) {
    return this.json("POST", `/comparisons/${encodeURIComponent(comparisonId)}/stop`, { lane });
  }

  /** "Continue with this answer": the lane becomes an ordinary conversation (returned). */
  continueLane(comparisonId, lane) {
    return this.json("POST", `/comparisons/${encodeURIComponent(comparisonId)}/continue`, { lane });
  }

  deleteConversation(id) {
    return this.json("DELETE", `/conversations/${encodeURIComponent(id)}`);
  }
}

async function errorFrom(response) {
  let code = `http_${response.status}`;
  let message = "";
  try {
    const body = await response.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || "";
    }
  } catch {
    /* not JSON: keep the status */
  }
  return new ApiError(response.status, code, message);
}

/** A sentence for the person in front of the screen, in the page's language (i18n.js). */
export function describeError(err) {
  if (!err) return t("error.generic");
  if (err.name === "AbortError") return t("answer.stopped");
  if (!(err instanceof ApiError)) return err.message ? t("error.genericWith", { message: err.message }) : t("error.generic");
  const limit = err.detail.maxBytes ? t("error.limit", { limit: formatBytes(err.detail.maxBytes) }) : "";
  switch (err.status || err.code) {
    case 0:
    case "network":
      return t("error.network");
    case 401:
    case "unauthenticated":
      return t("error.signedOut");
    case 403:
      return err.message || t("error.forbidden");
    case 404:
    case "not_found":
      return t("error.notFound");
    case 413:
    case "payload_too_large":
      if (err.detail.size) return t("error.fileTooLarge", { size: formatBytes(err.detail.size) }) + (limit || t("error.trySmallerFile"));
      return t("error.tooLarge") + (limit || t("error.trySmaller"));
    case 415:
    case "unsupported_media_type":
      return err.message
        ? t("error.fileUnusable", { reason: err.message.replace(/\.?$/, ".") })
        : t("error.typeUnsupported", { documents: DOCUMENT_NAMES, images: IMAGE_NAMES });
    case 422:
    case "unprocessable_content":
      return err.message || t("error.unreadable");
    case 429:
    case "throttled":
      return t("error.throttled");
    case 502:
    case "upstream_error":
      return t("error.upstream");
    case 400:
    case "invalid_request":
      return err.message || t("error.invalid");
    default:
      return err.message || t("error.server");
  }
}

export function isSignedOut(err) {
  return err instanceof ApiError && (err.status === 401 || err.code === "unauthenticated");
}
