// The compare view: lanes side by side (2-4 columns on a desktop, tabs on a phone), a stop per
// lane and for all, per-lane tokens and cost, "continue with this answer".
import { formatCost } from "../cost.js";
import { h, icon } from "../dom.js";
import { t } from "../i18n.js";
import { MAX_LANES, MIN_LANES } from "../compare.js";

export class CompareView {
  /** @param {{compare: import("../compare.js").CompareSession, onContinued: (id: string) => void}} deps */
  constructor({ compare, onContinued }) {
    this.compare = compare;
    this.onContinued = onContinued;
    this.config = h("div", { class: "compare-lanes-config" });
    this.addButton = h("button", { type: "button", class: "btn ghost small", onclick: () => compare.addLane() }, icon("plus"), t("compare.addLane"));
    this.question = h("textarea", { id: "compare-question", rows: 2, maxlength: 32000 });
    this.runButton = h("button", { type: "submit", class: "btn primary" }, t("compare.run"));
    this.stopAllButton = h("button", { type: "button", class: "btn danger", hidden: true, onclick: () => compare.stopAll() }, icon("stop"), t("compare.stopAll"));
    this.newButton = h("button", { type: "button", class: "btn ghost", onclick: () => compare.reset() }, t("compare.new"));
    this.total = h("p", { class: "muted small-text", role: "status" });
    this.recentList = h("ul", { class: "compare-recent-list" });
    this.recent = h("nav", { class: "compare-recent", hidden: true, "aria-label": t("compare.recent") }, h("h3", {}, t("compare.recent")), this.recentList);
    this.tabs = h("div", { class: "lane-tabs", role: "tablist", "aria-label": t("compare.lanes") });
    this.lanes = h("div", { class: "lanes" });
    const form = h(
      "form",
      {
        class: "compare-form",
        onsubmit: (e) => {
          e.preventDefault();
          const text = this.question.value;
          if (!text.trim()) return this.question.focus();
          this.question.value = "";
          compare.run(text);
        },
      },
      h("h2", { class: "compare-title" }, t("compare.title")),
      this.config,
      this.addButton,
      h("label", { for: "compare-question" }, t("compare.question")),
      this.question,
      h("div", { class: "compare-actions" }, this.runButton, this.stopAllButton, this.newButton, this.total),
    );
    this.el = h("section", { id: "compare", class: "compare", hidden: true, "aria-label": t("compare.title") }, form, this.recent, this.tabs, this.lanes);
  }

  render(state, models, defaultModel) {
    this.el.hidden = !state.open;
    if (!state.open) return;
    const locked = Boolean(state.comparisonId);
    this.renderConfig(state, models, defaultModel, locked);
    this.addButton.hidden = locked || state.lanes.length >= MAX_LANES;
    this.runButton.textContent = locked ? t("compare.followUp") : t("compare.run");
    this.runButton.disabled = state.running;
    this.stopAllButton.hidden = !state.running;
    this.newButton.hidden = !locked || state.running;
    this.total.textContent = state.totalCost != null ? t("compare.total", { cost: formatCost(state.totalCost) }) : "";
    this.renderRecent(state);
    this.renderLanes(state);
  }

  /** Stored comparisons to reopen or delete, while none is open and nothing runs. */
  renderRecent(state) {
    const items = state.recent || [];
    this.recent.hidden = Boolean(state.comparisonId) || state.running || !items.length;
    const shape = JSON.stringify(items.map((c) => [c.id, c.title]));
    if (shape === this.shownRecent) return;
    this.shownRecent = shape;
    this.recentList.replaceChildren(
      ...items.map((c) => {
        const models = c.lanes.map((l) => l.model + (l.inferenceConfig?.temperature != null ? ` t=${l.inferenceConfig.temperature}` : "")).join(" · ");
        return h(
          "li",
          { class: "compare-recent-item" },
          h("button", { type: "button", class: "link-btn", title: models, onclick: () => this.compare.open(c.id) }, c.title || c.id),
          h("span", { class: "muted small-text" }, models),
          h("button", { type: "button", class: "icon-btn small", "aria-label": t("compare.delete", { title: c.title || c.id }), onclick: () => this.compare.remove(c.id) }, icon("trash")),
        );
      }),
    );
  }

  renderConfig(state, models, defaultModel, locked) {
    // Rebuilt only when its shape changes (lane count, models, locked); values are set in place,
    // and never into the field being typed in, so an edit in one lane survives a change in another.
    const shape = JSON.stringify([state.lanes.length, models.map((m) => m.id), locked]);
    if (shape !== this.shownConfig) {
      this.shownConfig = shape;
      this.buildConfig(state, models, defaultModel, locked);
    }
    state.lanes.forEach((lane, i) => {
      const { select, input } = this.laneFields[i];
      const model = lane.model || defaultModel || "";
      if (document.activeElement !== select && select.value !== model) select.value = model;
      if (document.activeElement !== input && input.value !== String(lane.temperature ?? "")) input.value = lane.temperature ?? "";
    });
  }

  buildConfig(state, models, defaultModel, locked) {
    const options = () => {
      const list = models.map((m) => h("option", { value: m.id }, m.name || m.id));
      if (!list.length) list.push(h("option", { value: "" }, t("settings.defaultModel")));
      return list;
    };
    this.laneFields = [];
    this.config.replaceChildren(
      ...state.lanes.map((lane, i) => {
        const select = h("select", { id: `lane-${i}-model`, disabled: locked, onchange: (e) => this.compare.setLane(i, { model: e.target.value }) }, options());
        const input = h("input", {
          id: `lane-${i}-temperature`, type: "number", min: "0", max: "1", step: "0.05", disabled: locked, placeholder: t("settings.modelDefault"),
          onchange: (e) => this.compare.setLane(i, { temperature: e.target.value }),
        });
        select.value = lane.model || defaultModel || "";
        input.value = lane.temperature ?? "";
        this.laneFields.push({ select, input });
        return h(
          "fieldset",
          { class: "lane-config" },
          h("legend", {}, t("compare.lane", { n: i + 1 })),
          h("label", { for: `lane-${i}-model` }, t("compare.model")),
          select,
          h("label", { for: `lane-${i}-temperature` }, t("compare.temperature")),
          input,
          state.lanes.length > MIN_LANES && !locked
            ? h("button", { type: "button", class: "icon-btn small", "aria-label": t("compare.removeLane", { n: i + 1 }), onclick: () => this.compare.removeLane(i) }, icon("close"))
            : null,
        );
      }),
    );
  }

  renderLanes(state) {
    // Lanes are built once per comparison and then updated in place: a streaming answer re-renders
    // many times a second, and rebuilding would detach the Stop buttons under the pointer and
    // take the focus away from a keyboard user.
    const results = state.results;
    this.lanes.style.setProperty("--lanes", String(Math.max(results.length, 1)));
    if (!this.laneViews || this.laneViews.length !== results.length) {
      this.laneViews = results.map((_, i) => this.laneView(i));
      this.tabs.replaceChildren(...this.laneViews.map((v) => v.tab));
      this.lanes.replaceChildren(...this.laneViews.map((v) => v.el));
    }
    results.forEach((r, i) => {
      const v = this.laneViews[i];
      const active = i === state.tab;
      const title = laneTitle(i, r);
      v.tab.textContent = title;
      v.tab.setAttribute("aria-selected", String(active));
      v.tab.tabIndex = active ? 0 : -1;
      v.el.classList.toggle("active", active);
      v.el.setAttribute("aria-busy", String(r.status === "streaming"));
      v.title.textContent = title;
      v.status.className = `lane-status ${r.status}`;
      v.status.textContent = t(`compare.status.${r.status}`);
      if (v.text.textContent !== r.text) v.text.textContent = r.text;
      v.error.textContent = r.error || "";
      v.error.hidden = !r.error;
      const notices = r.notices || [];
      if (v.notices.childElementCount !== notices.length) v.notices.replaceChildren(...notices.map((n) => h("li", {}, n)));
      v.notices.hidden = !notices.length;
      const usage = [];
      if (r.usage) usage.push(t("usage.in", { n: r.usage.inputTokens }), t("usage.out", { n: r.usage.outputTokens }));
      if (r.costUsd != null) usage.push(formatCost(r.costUsd));
      v.usage.textContent = usage.length ? t("usage.tokens", { parts: usage.join(" · ") }) : "";
      v.stop.hidden = !(r.status === "streaming" && state.comparisonId);
      v.continue.hidden = !(!state.running && r.conversationId && ["complete", "stopped", "incomplete"].includes(r.status) && r.text);
    });
  }

  /** One lane's elements, kept for the comparison's lifetime (updated by `renderLanes`). */
  laneView(i) {
    const tab = h("button", { type: "button", role: "tab", id: `lane-tab-${i}`, "aria-controls": `lane-${i}`, onclick: () => this.compare.showTab(i) });
    const title = h("h3", {});
    const status = h("span", { class: "lane-status" });
    const text = h("div", { class: "lane-text" });
    const error = h("p", { class: "error-text", hidden: true });
    const notices = h("ul", { class: "answer-notices", hidden: true });
    const usage = h("span", { class: "usage" });
    const stop = h("button", { type: "button", class: "btn ghost small", hidden: true, onclick: () => this.compare.stopLane(i) }, icon("stop"), t("compare.stopLane", { n: i + 1 }));
    const cont = h(
      "button",
      { type: "button", class: "btn ghost small", hidden: true, onclick: async () => { const id = await this.compare.continueWith(i); if (id) this.onContinued(id); } },
      t("compare.continue"),
    );
    const el = h(
      "article",
      { class: "lane", id: `lane-${i}`, role: "tabpanel", "aria-labelledby": `lane-tab-${i}` },
      h("header", { class: "lane-head" }, title, status),
      notices,
      text,
      error,
      h("footer", { class: "lane-foot" }, usage, stop, cont),
    );
    return { tab, el, title, status, text, error, notices, usage, stop, continue: cont };
  }
}

function laneTitle(index, result) {
  const temperature = result.inferenceConfig?.temperature;
  return `${index + 1}. ${result.model}${temperature != null ? ` · t=${temperature}` : ""}`;
}
