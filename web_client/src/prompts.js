// Saved prompts (/prompts): a per-user library, headless. Puts {items, loaded, error} under the
// store key `prompts`. Creating uses PUT /prompts/{id} with an id made here (a ULID, as the server
// expects), so a retried save never makes a second copy.
import { describeError } from "./api.js";

const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";

/** A 26-character lowercase ULID: 48 bits of milliseconds, then 80 random bits (ulid spec). */
export function newId(now = Date.now(), random = (n) => crypto.getRandomValues(new Uint8Array(n))) {
  let time = "";
  for (let i = 0, t = now; i < 10; i++, t = Math.floor(t / 32)) time = CROCKFORD[t % 32] + time;
  const bytes = random(16);
  let rest = "";
  for (let i = 0; i < 16; i++) rest += CROCKFORD[bytes[i] % 32];
  return time + rest;
}

export function emptyPrompts() {
  return { items: [], loaded: false, error: "" };
}

export class PromptLibrary {
  /** @param {{api: {json: (method: string, path: string, body?: unknown) => Promise<any>}, store: object,
   *           notify?: (kind: string, value?: unknown) => void}} deps */
  constructor({ api, store, notify = () => {} }) {
    Object.assign(this, { api, store, notify });
  }

  get items() {
    return this.store.get().prompts?.items || [];
  }

  /** Loads the caller's prompts (newest first). */
  async load() {
    try {
      const body = await this.api.json("GET", "/prompts");
      this.store.set({ prompts: { items: body.items || [], loaded: true, error: "" } });
    } catch (err) {
      this.store.set({ prompts: { ...emptyPrompts(), loaded: true, error: describeError(err) } });
    }
  }

  /**
   * Saves a new prompt, or replaces `promptId`. Resolves to the stored prompt, or null when the
   * server refused (the reason has gone through notify). A retry of the same call reuses its id.
   */
  async save({ title, text, promptId = newId() }) {
    title = title.trim();
    if (!title || !text.trim()) return null;
    try {
      const saved = await this.api.json("PUT", `/prompts/${encodeURIComponent(promptId)}`, { title, text });
      const others = this.items.filter((p) => p.promptId !== saved.promptId);
      const items = this.items.some((p) => p.promptId === saved.promptId) ? this.items.map((p) => (p.promptId === saved.promptId ? saved : p)) : [saved, ...others];
      this.store.set({ prompts: { items, loaded: true, error: "" } });
      return saved;
    } catch (err) {
      this.notify("error", err);
      return null;
    }
  }

  /** Deletes a prompt; true when it is gone (already gone counts). */
  async remove(promptId) {
    try {
      await this.api.json("DELETE", `/prompts/${encodeURIComponent(promptId)}`);
    } catch (err) {
      if (err?.status !== 404) {
        this.notify("error", err);
        return false;
      }
    }
    this.store.set({ prompts: { ...this.store.get().prompts, items: this.items.filter((p) => p.promptId !== promptId) } });
    return true;
  }
}
