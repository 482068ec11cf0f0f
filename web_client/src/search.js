// Search conversations (GET /search?q=): headless, no DOM. Puts {q, items, loading, error} under the
// store key `search`; the sidebar shows the hits instead of the date groups while q is not empty.
// Typing is debounced, and an answer to an older query never overwrites a newer one.
import { describeError } from "./api.js";

export const SEARCH_DEBOUNCE_MS = 250;

export function emptySearch() {
  return { q: "", items: [], loading: false, error: "" };
}

export class ConversationSearch {
  /** @param {{api: {json: (method: string, path: string) => Promise<any>}, store: object,
   *           setTimer?: typeof setTimeout, clearTimer?: typeof clearTimeout, delay?: number}} deps */
  constructor({ api, store, setTimer = (fn, ms) => setTimeout(fn, ms), clearTimer = (id) => clearTimeout(id), delay = SEARCH_DEBOUNCE_MS }) {
    // Wrapped: a bare setTimeout called as a method throws "Illegal invocation" in browsers.
    Object.assign(this, { api, store, setTimer, clearTimer, delay });
    this.seq = 0;
    this.timer = null;
  }

  /** The search box changed: clear at once when empty, else search after a short pause. */
  input(q) {
    this.clearTimer(this.timer);
    const query = q.trim();
    if (!query) {
      this.seq++;
      this.store.set({ search: emptySearch() });
      return;
    }
    this.store.set({ search: { ...this.store.get().search, q: query, loading: true, error: "" } });
    this.timer = this.setTimer(() => this.run(query), this.delay);
  }

  /** Runs one query now; resolves to the hits (or [] when a newer query replaced it). */
  async run(query) {
    const mine = ++this.seq;
    try {
      const body = await this.api.json("GET", `/search?${new URLSearchParams({ q: query, limit: "20" })}`);
      if (mine !== this.seq) return [];
      this.store.set({ search: { q: query, items: body.items || [], loading: false, error: "" } });
      return body.items || [];
    } catch (err) {
      if (mine !== this.seq) return [];
      this.store.set({ search: { q: query, items: [], loading: false, error: describeError(err) } });
      return [];
    }
  }
}
