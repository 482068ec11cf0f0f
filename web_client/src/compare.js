// A side-by-side comparison, headless: lanes (model + temperature), one POST /compare stream
// multiplexing them (docs/api.md), per-lane and whole stops, follow-ups and "continue with this
// answer". State lives in the store under `compare`; the view renders it.
import { t } from "./i18n.js";

export const MIN_LANES = 2;
export const MAX_LANES = 4;

export function emptyComparison(model = "") {
  return {
    open: false,
    lanes: [
      { model, temperature: "0.2" },
      { model, temperature: "1" },
    ],
    comparisonId: null,
    running: false,
    results: [],
    totalCost: null,
    tab: 0,
  };
}

/** The request's lanes from the form: an empty model is the default, an empty temperature unset. */
export function laneBodies(lanes) {
  return lanes.map(({ model, temperature }) => {
    const lane = {};
    if (model) lane.model = model;
    if (temperature !== "" && temperature != null) lane.inferenceConfig = { temperature: Number(temperature) };
    return lane;
  });
}

/** `message` with the API's "lanes[i]" field names as the page's lane labels ("Lane i+1"). */
export function laneNames(message) {
  return message.replace(/lanes\[(\d+)\]/g, (_, i) => t("compare.lane", { n: Number(i) + 1 }));
}

export class CompareSession {
  /** @param {{api: import("./api.js").Api, store: object, notify: (kind: string, value: any) => void}} deps */
  constructor({ api, store, notify }) {
    this.api = api;
    this.store = store;
    this.notify = notify;
    this.controller = null;
    if (!store.get().compare) store.set({ compare: emptyComparison() });
  }

  get state() {
    return this.store.get().compare;
  }

  #set(patch) {
    this.store.set((s) => ({ compare: { ...s.compare, ...(typeof patch === "function" ? patch(s.compare) : patch) } }));
  }

  #lane(index, patch) {
    this.#set((c) => ({ results: c.results.map((r, i) => (i === index ? { ...r, ...patch } : r)) }));
  }

  toggle(open = !this.state.open) {
    this.#set({ open });
    if (open) this.loadRecent();
  }

  /** The newest stored comparisons (GET /comparisons), to reopen one; kept under `recent`. */
  async loadRecent() {
    try {
      const page = await this.api.json("GET", "/comparisons?limit=10");
      this.#set({ recent: page.items || [] });
    } catch (err) {
      this.notify("error", err);
    }
  }

  /** Reopens a stored comparison: its lanes and each lane's newest answer; a follow-up continues it. */
  async open(id) {
    if (this.state.running) return;
    try {
      const found = await this.api.json("GET", `/comparisons/${encodeURIComponent(id)}`);
      const lanes = found.lanes.map((l) => ({ model: l.model, temperature: l.inferenceConfig?.temperature != null ? String(l.inferenceConfig.temperature) : "" }));
      const results = found.lanes.map((l) => {
        const answer = [...(l.messages || [])].reverse().find((m) => m.role === "assistant");
        return { ...newResult(l.model), inferenceConfig: l.inferenceConfig || {}, text: answer ? answer.content : "", status: "complete", costUsd: answer?.costUsd ?? null, conversationId: l.conversationId };
      });
      this.#set({ ...emptyComparison(), open: true, comparisonId: found.id, lanes, results, recent: this.state.recent });
    } catch (err) {
      this.notify("error", err);
    }
  }

  /** Deletes a stored comparison with its lanes (DELETE /comparisons/{id}); a lane continued as a conversation stays. */
  async remove(id) {
    try {
      await this.api.json("DELETE", `/comparisons/${encodeURIComponent(id)}`);
      this.notify("announce", t("compare.deleted"));
      if (this.state.comparisonId === id) this.reset();
      this.#set((c) => ({ recent: (c.recent || []).filter((item) => item.id !== id) }));
    } catch (err) {
      this.notify("error", err);
    }
  }

  setLane(index, patch) {
    if (this.state.comparisonId) return; // a stored comparison keeps its lanes
    this.#set((c) => ({ lanes: c.lanes.map((l, i) => (i === index ? { ...l, ...patch } : l)) }));
  }

  addLane() {
    if (this.state.lanes.length >= MAX_LANES || this.state.comparisonId) return;
    this.#set((c) => ({ lanes: [...c.lanes, { ...c.lanes[c.lanes.length - 1] }] }));
  }

  removeLane(index) {
    if (this.state.lanes.length <= MIN_LANES || this.state.comparisonId) return;
    this.#set((c) => ({ lanes: c.lanes.filter((_, i) => i !== index), tab: 0 }));
  }

  showTab(tab) {
    this.#set({ tab });
  }

  reset() {
    this.stopAll();
    const { lanes, recent } = this.state;
    this.#set({ ...emptyComparison(), open: true, lanes, recent });
  }

  /** Asks every lane `message` (a follow-up once a comparison exists) and streams the answers in. */
  async run(message) {
    if (this.state.running || !message.trim()) return;
    const { comparisonId, lanes } = this.state;
    const body = comparisonId ? { message, comparisonId } : { message, lanes: laneBodies(lanes) };
    const controller = new AbortController();
    this.controller = controller;
    this.#set({ running: true, totalCost: null, tab: 0, results: lanes.map((l) => newResult(l.model)) });
    try {
      for await (const { event, data } of this.api.compareStream(body, controller.signal)) this.#apply(event, data);
    } catch (err) {
      if (err.name === "AbortError") this.#set((c) => ({ results: c.results.map((r) => (r.status === "streaming" ? { ...r, status: "stopped" } : r)) }));
      else {
        this.#set((c) => ({ results: c.results.map((r) => (r.status === "streaming" ? { ...r, status: "error" } : r)) }));
        // The API names lanes by their 0-based place in the request ("lanes[1]"); the page says "Lane 2".
        if (err && typeof err.message === "string") err.message = laneNames(err.message);
        this.notify("error", err);
      }
    } finally {
      if (this.controller === controller) this.controller = null;
      this.#set({ running: false });
    }
    if (!comparisonId) this.loadRecent(); // the new comparison is listed
  }

  #apply(event, data) {
    if (event === "meta") {
      this.#set((c) => ({
        comparisonId: data.comparisonId || c.comparisonId,
        results: (data.lanes || []).map((lane, i) => ({
          ...newResult(lane.model),
          inferenceConfig: lane.inferenceConfig || {},
          conversationId: (data.conversationIds || [])[i] || null,
        })),
      }));
      return;
    }
    if (data.lane === undefined) {
      if (event === "done") this.#set({ totalCost: data.costUsd ?? null });
      return;
    }
    const current = this.state.results[data.lane];
    if (!current) return;
    if (event === "delta") this.#lane(data.lane, { text: current.text + (data.text || "") });
    else if (event === "usage") this.#lane(data.lane, { usage: data, costUsd: data.costUsd ?? null });
    else if (event === "notice") this.#lane(data.lane, { notices: [...(current.notices || []), data.message || data.code] });
    else if (event === "done") this.#lane(data.lane, { status: data.stopReason === "stopped" ? "stopped" : "complete", stopReason: data.stopReason, latencyMs: data.latencyMs, costUsd: data.costUsd ?? current.costUsd });
    else if (event === "error") this.#lane(data.lane, { status: current.text ? "incomplete" : data.code === "throttled" ? "throttled" : "error", error: data.message || "" });
  }

  /** Stops one lane on the server (the others go on); its partial answer is kept. */
  async stopLane(index) {
    const { comparisonId, running } = this.state;
    if (!running || !comparisonId) return;
    try {
      await this.api.stopLane(comparisonId, index);
      this.notify("announce", t("compare.stopLane", { n: index + 1 }));
    } catch (err) {
      this.notify("error", err);
    }
  }

  /** Closes the stream: the server stops every lane and keeps what each had said. */
  stopAll() {
    this.controller?.abort();
  }

  /** "Continue with this answer": resolves to the new ordinary conversation's id, or null. */
  async continueWith(index) {
    const { comparisonId } = this.state;
    if (!comparisonId) return null;
    try {
      const conversation = await this.api.continueLane(comparisonId, index);
      this.notify("announce", t("compare.continued"));
      this.#set({ ...emptyComparison(), lanes: this.state.lanes });
      return conversation.id;
    } catch (err) {
      this.notify("error", err);
      return null;
    }
  }
}

function newResult(model) {
  return { model: model || "", inferenceConfig: {}, text: "", status: "streaming", stopReason: null, usage: null, costUsd: null, error: "", conversationId: null };
}
