// Headless: the caller's conversation list (paged), the models and the image-task presets.
// Store keys: conversations, nextCursor, models, defaultModel, presets.
import { ApiError, isSignedOut } from "./api.js";

export class Library {
  /**
   * @param {{api: import("./api.js").Api, store: ReturnType<import("./store.js").createStore>,
   *          notify?: (kind: "error", err: unknown) => void}} deps
   */
  constructor({ api, store, notify = () => {} }) {
    this.api = api;
    this.store = store;
    this.notify = notify;
  }

  /** Reloads the first page (or appends the next one). A failed background refresh stays quiet
   * unless it means the person was signed out. */
  async refresh({ append = false } = {}) {
    const { nextCursor, conversations } = this.store.get();
    try {
      const page = await this.api.listConversations(append ? nextCursor : null);
      const items = page.items || [];
      this.store.set({ conversations: append ? [...conversations, ...items] : items, nextCursor: page.nextCursor || null, listLoaded: true });
    } catch (err) {
      if (append || isSignedOut(err)) this.notify("error", err);
      this.store.set({ listLoaded: true });
    }
  }

  /** PATCHes the title; resolves true when it was saved. */
  async rename(id, title) {
    try {
      await this.api.updateConversation(id, { title });
    } catch (err) {
      this.notify("error", err);
      return false;
    }
    this.store.set((s) => ({ conversations: s.conversations.map((c) => (c.id === id ? { ...c, title } : c)) }));
    return true;
  }

  /** DELETEs it (already gone counts as deleted); resolves true when it is gone. */
  async remove(id) {
    try {
      await this.api.deleteConversation(id);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) {
        this.notify("error", err);
        return false;
      }
    }
    this.store.set((s) => ({ conversations: s.conversations.filter((c) => c.id !== id) }));
    return true;
  }

  async loadModels() {
    try {
      const data = await this.api.json("GET", "/models");
      const models = data.models || [];
      this.store.set({ models, defaultModel: data.defaultModel || models[0]?.id || "" });
    } catch (err) {
      this.store.set({ models: [] });
      if (isSignedOut(err)) this.notify("error", err);
    }
  }

  /** GET /tools: what a conversation can enable (built-ins and the deployment's MCP tools). */
  async loadTools() {
    try {
      const data = await this.api.json("GET", "/tools");
      this.store.set({ tools: data.tools || [], defaultTools: data.defaultEnabled || [] });
    } catch {
      this.store.set({ tools: [], defaultTools: [] });
    }
  }

  async loadPresets() {
    try {
      const data = await this.api.json("GET", "/presets");
      this.store.set({ presets: data.presets || [] });
    } catch {
      this.store.set({ presets: [] });
    }
  }
}
