// The headless chat session: send -> server events -> state. No DOM: views render what it puts in
// the store, and node's test runner drives it with a fake API (test/session.test.mjs).
//
// Store keys it owns:
//   conversation: {id, title, model, system, messages}   the open conversation
//   busy: null | "chat" | "document"                     derived from the running request
//   loading: boolean                                     a conversation is being fetched
//   settingsStatus: "" | "pending" | "saving" | "saved"
// A message is {key, id?, role: "user" | "assistant" | "document", content, status, ...}:
//   user:      images [{url, name}] (object URLs of this page), attachments (stored records)
//   assistant: status "streaming" | "complete" | "stopped" | "incomplete", stopReason, usage,
//              model, error (a sentence) when the stream failed after it started, feedback
//              {rating, reason?}, and after a regenerate: versions (snapshots) and version (shown)
//   document:  name, size, stage ("preparing" … "done" | "failed"), upload (0..1), done, total
import { ApiError, describeError, isSignedOut } from "./api.js";
import { t } from "./i18n.js";

let keySeq = 0;
const nextKey = () => `m${++keySeq}`;

export function emptyConversation() {
  return { id: null, title: "", model: "", system: "", messages: [] };
}

/**
 * Stored messages (GET /conversations/{id}) as the session keeps them: tool-step messages
 * (`toolStep`) are folded into the answer that follows them as its `steps`.
 */
export function fromStoredList(stored) {
  const out = [];
  let steps = [];
  for (const m of stored) {
    if (m.toolStep) {
      for (const block of m.blocks || []) {
        if (block.toolUse) {
          const { toolUseId, name, input } = block.toolUse;
          steps.push({ id: toolUseId, name, input: input || {}, status: "stopped", preview: "", output: "" });
        } else if (block.toolResult) {
          const step = steps.find((s) => s.id === block.toolResult.toolUseId);
          const text = (block.toolResult.content || []).map((c) => c.text || "").join(" ");
          if (step) Object.assign(step, { status: block.toolResult.status || "success", output: text, preview: text.slice(0, 200) });
        }
      }
      continue;
    }
    const message = fromStored(m);
    if (message.role === "assistant" && steps.length) message.steps = steps;
    steps = []; // a question starts a new turn; an answer closes its own
    out.push(message);
  }
  return out;
}

/** A stored message (GET /conversations/{id}) as the session keeps it. */
export function fromStored(m) {
  const id = m.id || m.messageId || null;
  return {
    key: id ? `s${id}` : nextKey(),
    id,
    role: m.role === "user" ? "user" : "assistant",
    content: m.content || "",
    status: m.status || "complete",
    stopReason: m.stopReason || null,
    usage: m.usage || null,
    costUsd: m.costUsd ?? null,
    model: m.model || "",
    feedback: m.feedback || null,
    attachments: m.attachments || [],
    images: [],
    error: "",
    stored: true,
    ...storedVersions(m),
  };
}

/** Earlier versions the server keeps (a regenerated answer): browsable as "1 / 2" after reload. */
function storedVersions(m) {
  if (m.role === "user" || !m.versions?.length) return {};
  const versions = [...m.versions, m].map((v) => snapshot({ ...v, status: v.status || "complete", stopReason: v.stopReason || null, feedback: v.feedback || null, error: "" }));
  return { versions, version: versions.length - 1 };
}

export class ChatSession {
  /**
   * @param {{api: import("./api.js").Api, store: ReturnType<import("./store.js").createStore>,
   *          upload: typeof import("./uploads.js").uploadFile,
   *          notify?: (kind: "error" | "announce" | "turn-ended", value?: unknown) => void}} deps
   */
  constructor({ api, store, upload, notify = () => {} }) {
    this.api = api;
    this.store = store;
    this.upload = upload;
    this.notify = notify;
    this.controller = null;
    this.loadToken = 0;
  }

  get state() {
    return this.store.get();
  }

  get conversation() {
    return this.state.conversation;
  }

  get busy() {
    return this.state.busy;
  }

  /** Shows an empty new chat (stops a running answer first). */
  newChat() {
    this.stop();
    this.loadToken++;
    this.store.set({ conversation: emptyConversation(), loading: false, settingsStatus: "" });
  }

  /** Loads a stored conversation; false when it could not be (then a new chat is shown). */
  async open(id, { quiet = false } = {}) {
    this.stop();
    const token = ++this.loadToken;
    this.store.set({ loading: true, settingsStatus: "" });
    try {
      const conv = await this.api.getConversation(id);
      if (token !== this.loadToken) return false;
      const messages = fromStoredList(conv.messages || []);
      this.store.set({ conversation: { ...emptyConversation(), ...conv, messages }, loading: false });
      this.#showStoredImages(messages, token);
      return true;
    } catch (err) {
      if (token !== this.loadToken) return false;
      if (!quiet || isSignedOut(err)) this.notify("error", err);
      this.store.set({ conversation: emptyConversation(), loading: false });
      return false;
    }
  }

  /**
   * Sends one turn and streams its answer into the conversation.
   * @param {{text?: string, images?: {url: string, name: string, uploadId: string}[], preset?: string}} turn
   * @returns {Promise<{accepted: boolean, error?: unknown}>} accepted false: nothing was stored
   *   and the person's input should be given back (the error has been reported through notify).
   */
  async send({ text = "", images = [], preset } = {}) {
    if (this.busy) return { accepted: false };
    text = text.trim();
    if (!text && !images.length) return { accepted: false };
    const { presets = [], defaultModel = "" } = this.state;
    const chosen = images.length ? preset || undefined : undefined;
    // The API accepts an empty message with a preset; with neither, ask for a description.
    const fallback = presets.find((p) => p.name === "description")?.prompt || t("image.describe");
    const message = text || (images.length && !chosen ? fallback : "");
    const shown = message || presets.find((p) => p.name === chosen)?.label || "";
    const conv = this.conversation;
    const body = { message, model: conv.model || defaultModel || undefined };
    if (conv.id) body.conversationId = conv.id;
    else if (conv.system) body.system = conv.system;
    // A new chat's settings go with its first turn (the conversation keeps them); later ones are PATCHed.
    if (!conv.id && conv.inferenceConfig && Object.keys(conv.inferenceConfig).length) body.inferenceConfig = conv.inferenceConfig;
    // Tools chosen before the first turn ride on it (a new chat has nothing to PATCH yet).
    if (!conv.id && Array.isArray(conv.tools)) body.tools = conv.tools;
    if (images.length) {
      body.attachments = images.map((img) => img.uploadId);
      if (chosen) body.preset = chosen;
    }
    const user = { key: nextKey(), role: "user", content: shown, images: images.map(({ url, name }) => ({ url, name })), attachments: [] };
    const answer = newAnswer(body.model);
    this.#push(user, answer);
    const outcome = await this.#stream("/chat", body, answer.key, { userKey: user.key });
    if (!outcome.accepted) this.#remove(user.key, answer.key);
    return outcome;
  }

  /**
   * A new answer for the same question (POST /chat {conversationId, regenerate: <answer id>}).
   * The answer shown so far is kept in `versions` (browsable with showVersion); when the server
   * refuses before answering, it is put back as it was.
   */
  async regenerate(key) {
    const answer = this.#find(key);
    const conv = this.conversation;
    if (this.busy || !answer?.id || !conv.id) return { accepted: false };
    const before = this.conversation.messages;
    const versions = [...(answer.versions || [snapshot(answer)])];
    this.#patch(key, { ...newAnswer(answer.model), key, versions, version: versions.length });
    const body = { conversationId: conv.id, regenerate: answer.id, model: conv.model || this.state.defaultModel || undefined };
    const outcome = await this.#stream("/chat", body, key);
    if (!outcome.accepted) this.#restore(before);
    else this.#patch(key, (m) => ({ versions: [...versions, snapshot(m)] }));
    return outcome;
  }

  /** Shows an earlier (or later) answer to the same question: index into `versions`. */
  showVersion(key, index) {
    const answer = this.#find(key);
    const chosen = answer?.versions?.[index];
    if (!chosen || answer.status === "streaming") return;
    this.#patch(key, { ...chosen, versions: answer.versions, version: index });
  }

  /**
   * Edit and resend a sent message (POST /chat {conversationId, editOf: <user message id>, message}):
   * the conversation continues from the edited text; what followed it leaves the view (the server
   * keeps or removes it as docs/api.md says). Refused before answering: everything is put back.
   */
  async edit(key, text) {
    const conv = this.conversation;
    const index = conv.messages.findIndex((m) => m.key === key);
    const original = conv.messages[index];
    text = text.trim();
    if (this.busy || index < 0 || !original.id || !conv.id || !text) return { accepted: false };
    const before = conv.messages;
    const edited = { ...original, content: text, key: nextKey(), id: null };
    const answer = newAnswer(conv.model || this.state.defaultModel);
    this.#restore([...before.slice(0, index), edited, answer]);
    const body = { conversationId: conv.id, editOf: original.id, message: text, model: conv.model || this.state.defaultModel || undefined };
    const outcome = await this.#stream("/chat", body, answer.key, { userKey: edited.key });
    if (!outcome.accepted) this.#restore(before);
    return outcome;
  }

  /**
   * Feedback on an answer (PUT /conversations/{id}/messages/{messageId}/feedback {rating, reason?}),
   * rating "up" | "down". Shown at once; put back as it was when the server refuses. A PUT, so a
   * retry never duplicates it.
   */
  async rate(key, rating, reason = "") {
    const answer = this.#find(key);
    const convId = this.conversation.id;
    if (!answer?.id || !convId || !["up", "down"].includes(rating)) return false;
    const previous = answer.feedback || null;
    const feedback = reason.trim() ? { rating, reason: reason.trim() } : { rating };
    this.#patch(key, { feedback });
    try {
      await this.api.json("PUT", `/conversations/${encodeURIComponent(convId)}/messages/${encodeURIComponent(answer.id)}/feedback`, feedback);
      return true;
    } catch (err) {
      this.#patch(key, { feedback: previous });
      this.notify("error", err);
      return false;
    }
  }

  /**
   * Thumbnails of images sent earlier (after a reload, on another device): each image attachment
   * of a stored question gets a short-lived presigned GET (GET /uploads/{id}/view-url, owner only).
   * An image that cannot be shown (expired upload) keeps its name as text; nothing is reported.
   */
  async #showStoredImages(messages, token) {
    const wanted = messages.filter((m) => m.role === "user" && !m.images.length && m.attachments.some((a) => a.kind === "image"));
    await Promise.all(
      wanted.map(async (m) => {
        const refs = m.attachments.filter((a) => a.kind === "image" && a.uploadId);
        const images = (
          await Promise.all(
            refs.map((a) =>
              this.api
                .json("GET", `/uploads/${encodeURIComponent(a.uploadId)}/view-url`)
                .then((v) => ({ url: v.url, name: a.filename || "", uploadId: a.uploadId }))
                .catch(() => null),
            ),
          )
        ).filter(Boolean);
        if (images.length && token === this.loadToken) this.#patch(m.key, { images, stored: true });
      }),
    );
  }

  /** The last answer was cut at the length limit: ask the model to go on from there. */
  continueAnswer() {
    return this.send({ text: t("answer.continuePrompt") });
  }

  /** Stops the running answer or document (the server stores what was said so far). */
  stop() {
    this.controller?.abort();
  }

  /** Uploads a document, then streams its summary into this conversation. */
  async summariseDocument(file) {
    if (this.busy) {
      this.notify("error", new Error(t("doc.waitBusy")));
      return;
    }
    const doc = { key: nextKey(), role: "document", name: file.name, size: file.size, stage: "preparing", upload: 0, done: null, total: null, error: "" };
    this.#push(doc);
    const controller = this.#begin("document");
    this.notify("announce", t("doc.uploading", { name: file.name }));
    let record;
    try {
      record = await this.upload(this.api, file, {
        signal: controller.signal,
        onProgress: (f) => this.#patch(doc.key, { upload: f }),
        onStage: (stage) => this.#patch(doc.key, { stage }),
      });
      this.#patch(doc.key, { upload: 1, stage: "summarising" });
      this.notify("announce", t("doc.summarising", { name: file.name }));
    } catch (err) {
      const stopped = err.name === "AbortError";
      this.#patch(doc.key, { stage: "failed", error: stopped ? t("answer.stopped") : describeError(err) });
      if (isSignedOut(err)) this.notify("error", err);
      this.#end(controller);
      return;
    }
    const answer = newAnswer("");
    this.#push(answer);
    const body = this.conversation.id ? { conversationId: this.conversation.id } : {};
    const path = `/documents/${encodeURIComponent(record.uploadId)}/summary`;
    const outcome = await this.#stream(path, body, answer.key, { docKey: doc.key, controller });
    const failed = this.#find(answer.key);
    if (!outcome.accepted || failed?.status !== "complete") {
      this.#patch(doc.key, { stage: "failed", error: failed?.error || describeError(outcome.error) });
    } else {
      this.#patch(doc.key, (d) => ({ stage: "done", done: d.total, total: d.total }));
      this.notify("announce", t("doc.ready"));
    }
  }

  /** Conversation settings (model, system prompt, inferenceConfig): kept locally for a new chat, else PATCHed. */
  async saveSettings(patch) {
    this.store.set((s) => ({ conversation: { ...s.conversation, ...patch } }));
    const conv = this.conversation;
    if (!conv.id) {
      this.store.set({ settingsStatus: "pending" });
      return;
    }
    this.store.set({ settingsStatus: "saving" });
    try {
      const saved = await this.api.updateConversation(conv.id, patch);
      this.store.set((s) =>
        saved && s.conversation.id === saved.id
          ? { conversation: { ...s.conversation, model: saved.model ?? s.conversation.model, system: saved.system ?? s.conversation.system, inferenceConfig: saved.inferenceConfig ?? null, tools: saved.tools ?? s.conversation.tools }, settingsStatus: "saved" }
          : { settingsStatus: "saved" },
      );
    } catch (err) {
      this.store.set({ settingsStatus: "" });
      this.notify("error", err);
    }
  }

  /** Sets the open conversation's title (after a rename or the server naming it). */
  retitle(id, title) {
    if (this.conversation.id === id && this.conversation.title !== title) {
      this.store.set((s) => ({ conversation: { ...s.conversation, title } }));
    }
  }

  // ------------------------------------------------------------ internals

  #begin(kind) {
    const controller = new AbortController();
    this.controller = controller;
    this.store.set({ busy: kind });
    return controller;
  }

  #end(controller) {
    if (this.controller !== controller) return;
    this.controller = null;
    this.store.set({ busy: null });
    this.notify("turn-ended");
  }

  async #stream(path, body, key, { docKey = null, userKey = null, controller = this.#begin("chat") } = {}) {
    let accepted = false;
    if (!docKey) this.notify("announce", t("answer.answering"));
    try {
      for await (const { event, data } of this.api.stream(path, body, controller.signal)) {
        accepted = true;
        if (this.#apply(event, data, key, docKey, userKey)) break;
      }
      this.#patch(key, { status: "complete" });
      if (!docKey) this.notify("announce", t("answer.complete"));
      return { accepted: true };
    } catch (err) {
      if (err.name === "AbortError") {
        this.#patch(key, { status: "stopped" });
        this.notify("announce", t("answer.stopped"));
        return { accepted: true };
      }
      if (!accepted) {
        this.notify("error", err);
        return { accepted: false, error: err };
      }
      this.#patch(key, { status: "incomplete", error: describeError(err) });
      if (isSignedOut(err)) this.notify("error", err);
      this.notify("announce", t("answer.failed"));
      return { accepted: true, error: err };
    } finally {
      this.#end(controller);
    }
  }

  /** Applies one server event; true when the stream is over. */
  #apply(event, data, key, docKey, userKey) {
    switch (event) {
      case "meta":
        this.#adopt(data.conversationId);
        this.#patch(key, { model: data.model || this.#find(key)?.model || "", id: data.messageId || null });
        if (userKey && data.userMessageId) this.#patch(userKey, { id: data.userMessageId });
        return false;
      case "delta":
        this.#patch(key, (m) => ({ content: m.content + (data.text || "") }));
        return false;
      case "tool_use":
        this.#patch(key, (m) => ({ steps: [...(m.steps || []), { id: data.id, name: data.name, input: data.input || {}, status: "running", preview: "", output: "" }] }));
        return false;
      case "tool_result":
        this.#patch(key, (m) => ({
          steps: (m.steps || []).map((s) => (s.id === data.id ? { ...s, status: data.status, preview: data.preview || "", output: data.output ?? data.preview ?? "" } : s)),
        }));
        return false;
      case "notice":
        this.#patch(key, (m) => ({ notices: [...(m.notices || []), data.message || data.code] }));
        return false;
      case "progress":
        if (docKey) this.#patch(docKey, { done: data.done, total: data.total });
        return false;
      case "usage":
        this.#patch(key, { usage: data });
        return false;
      case "done":
        // A summary names its new conversation only once it is stored (in `done`, not `meta`).
        this.#adopt(data.conversationId);
        this.#patch(key, { stopReason: data.stopReason || null });
        return true;
      case "error":
        throw new ApiError(null, data.code || "stream_error", data.message || "");
      default:
        return false;
    }
  }

  /** The server gave this turn a conversation id: adopt it (first turn of a new chat). */
  #adopt(id) {
    if (!id || this.conversation.id === id) return;
    this.store.set((s) => ({ conversation: { ...s.conversation, id }, settingsStatus: "" }));
  }

  #find(key) {
    return this.conversation.messages.find((m) => m.key === key);
  }

  #push(...messages) {
    this.store.set((s) => ({ conversation: { ...s.conversation, messages: [...s.conversation.messages, ...messages] } }));
  }

  #restore(messages) {
    this.store.set((s) => ({ conversation: { ...s.conversation, messages } }));
  }

  #remove(...keys) {
    this.store.set((s) => ({ conversation: { ...s.conversation, messages: s.conversation.messages.filter((m) => !keys.includes(m.key)) } }));
  }

  #patch(key, change) {
    this.store.set((s) => {
      const messages = s.conversation.messages;
      const i = messages.findIndex((m) => m.key === key);
      if (i < 0) return null;
      const next = [...messages];
      next[i] = { ...messages[i], ...(typeof change === "function" ? change(messages[i]) : change) };
      return { conversation: { ...s.conversation, messages: next } };
    });
  }
}

/** The fields of an answer that make one version of it. */
function snapshot(m) {
  return { id: m.id, content: m.content, status: m.status, stopReason: m.stopReason, usage: m.usage, model: m.model, error: m.error, feedback: m.feedback || null };
}

function newAnswer(model) {
  return { key: nextKey(), role: "assistant", content: "", status: "streaming", stopReason: null, usage: null, model: model || "", error: "", steps: [], notices: [] };
}
