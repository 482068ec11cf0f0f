// Conversation settings (model, system prompt, tools) and the page language, behind a toggle in the top bar.
import { h, icon } from "../dom.js";
import { conversationTotals, formatCost } from "../cost.js";
import { LANGUAGES, t } from "../i18n.js";

// Converse inferenceConfig fields offered as numeric inputs; ranges come from GET /models limits.
const INFERENCE_FIELDS = [
  { key: "temperature", limit: "temperature", step: "0.05", label: "settings.temperature" },
  { key: "topP", limit: "topP", step: "0.01", label: "settings.topP" },
  { key: "maxTokens", limit: "maxTokens", step: "1", label: "settings.maxTokens" },
];

const STATUS = { pending: "settings.pending", saving: "settings.saving", saved: "settings.saved" };

export class SettingsView {
  /** @param {{onSave: (patch: object) => void, onLanguage: (lang: string) => void, lang: string}} actions */
  constructor({ onSave, onLanguage, lang }) {
    this.label = h("span", { class: "settings-label" }, t("settings.model"));
    this.toggleButton = h(
      "button",
      { type: "button", class: "btn ghost settings-toggle", "aria-expanded": "false", "aria-controls": "settings", onclick: () => this.toggle() },
      icon("sliders"),
      h("span", { class: "sr-only" }, t("settings.toggle")),
      this.label,
    );
    this.model = h("select", { id: "model-select", onchange: () => onSave({ model: this.model.value }) });
    this.system = h("textarea", { id: "system-input", rows: 3, maxlength: 8000, placeholder: t("settings.systemPlaceholder") });
    this.status = h("span", { class: "muted small-text", role: "status" });
    this.inference = Object.fromEntries(
      INFERENCE_FIELDS.map(({ key, step }) => [key, h("input", { id: `inference-${key}`, type: "number", inputmode: "decimal", step, placeholder: t("settings.modelDefault") })]),
    );
    this.ranges = Object.fromEntries(INFERENCE_FIELDS.map(({ key }) => [key, h("span", { id: `inference-${key}-range`, class: "muted small-text" })]));
    this.totals = h("p", { class: "muted small-text conversation-cost", "aria-live": "polite" });
    this.onSave = onSave;
    this.toolsShown = "";
    this.toolList = h("div", { class: "tool-toggles" });
    this.toolsField = h(
      "fieldset",
      { class: "field tools", hidden: true },
      h("legend", {}, t("settings.tools")),
      h("p", { class: "muted small-text" }, t("settings.toolsHint")),
      this.toolList,
    );
    this.language = h(
      "select",
      { id: "language-select", onchange: () => onLanguage(this.language.value) },
      LANGUAGES.map(({ code, name }) => h("option", { value: code, selected: code === lang }, name)),
    );
    this.el = h(
      "section",
      { id: "settings", class: "settings", hidden: true, "aria-label": t("settings.label") },
      h("div", { class: "field" }, h("label", { for: "model-select" }, t("settings.model")), this.model),
      h("div", { class: "field grow" }, h("label", { for: "system-input" }, t("settings.system")), this.system),
      h(
        "div",
        { class: "settings-actions" },
        h("button", { type: "button", class: "btn primary small", onclick: () => onSave({ system: this.system.value }) }, t("settings.saveSystem")),
        this.status,
      ),
      h(
        "fieldset",
        { class: "inference" },
        h("legend", {}, t("settings.inference")),
        ...INFERENCE_FIELDS.map(({ key, label }) =>
          h(
            "div",
            { class: "field" },
            h("label", { for: `inference-${key}` }, t(label)),
            (this.inference[key].setAttribute("aria-describedby", `inference-${key}-range`), this.inference[key]),
            this.ranges[key],
          ),
        ),
        h("button", { type: "button", class: "btn primary small", onclick: () => this.saveInference(onSave) }, t("settings.saveInference")),
      ),
      this.totals,
      this.toolsField,
      h("div", { class: "field language" }, h("label", { for: "language-select" }, t("settings.language")), this.language),
    );
  }

  /** The inputs as a Converse inferenceConfig (empty inputs left out: the model's default). */
  inferenceConfig() {
    const config = {};
    for (const { key } of INFERENCE_FIELDS) {
      const raw = this.inference[key].value.trim();
      if (raw !== "") config[key] = key === "maxTokens" ? Math.round(Number(raw)) : Number(raw);
    }
    return config;
  }

  saveInference(onSave) {
    for (const { key } of INFERENCE_FIELDS) {
      if (!this.inference[key].checkValidity()) {
        this.inference[key].reportValidity();
        return;
      }
    }
    onSave({ inferenceConfig: this.inferenceConfig() });
  }

  get open() {
    return !this.el.hidden;
  }

  toggle(open = this.el.hidden) {
    this.el.hidden = !open;
    this.toggleButton.setAttribute("aria-expanded", String(open));
    if (open) this.model.focus();
  }

  /** One checkbox per tool of GET /tools; the conversation's list, else the default (none for a
   * model whose limits say toolsByDefault: false), is checked. */
  renderTools(tools = [], defaultTools = [], conversation) {
    const enabled = Array.isArray(conversation.tools) ? conversation.tools : defaultTools;
    const shown = JSON.stringify([tools.map((tool) => tool.name), enabled, conversation.id]);
    if (shown === this.toolsShown) return;
    this.toolsShown = shown;
    this.toolsField.hidden = !tools.length;
    this.toolList.replaceChildren(
      ...tools.map((tool) => {
        const id = `tool-${tool.name}`;
        const box = h("input", {
          type: "checkbox",
          id,
          value: tool.name,
          checked: enabled.includes(tool.name),
          onchange: () => {
            const chosen = [...this.toolList.querySelectorAll("input:checked")].map((el) => el.value);
            this.onSave({ tools: chosen });
          },
        });
        return h("div", { class: "tool-toggle" }, box, h("label", { for: id, title: tool.description || "" }, tool.title || tool.name));
      }),
    );
  }

  render({ models, defaultModel, conversation, settingsStatus, tools, defaultTools }) {
    const chosen = conversation.model || defaultModel;
    // A model too small for tools (limits.toolsByDefault false) is offered none by default.
    const limits = (models.find((m) => m.id === chosen) || {}).limits;
    this.renderTools(tools, limits && limits.toolsByDefault === false ? [] : defaultTools, conversation);
    const options = models.map((m) => h("option", { value: m.id }, m.provider ? `${m.name || m.id} (${m.provider})` : m.name || m.id));
    if (chosen && !models.some((m) => m.id === chosen)) options.unshift(h("option", { value: chosen }, chosen));
    if (!options.length) options.push(h("option", { value: "" }, t("settings.defaultModel")));
    this.model.replaceChildren(...options);
    this.model.value = chosen;
    const model = models.find((m) => m.id === chosen);
    const name = model ? model.name || model.id : chosen || t("settings.model");
    this.label.textContent = name;
    this.label.title = name;
    // The system prompt box follows the conversation, not every keystroke.
    if (this.shownFor !== (conversation.id || "new")) {
      this.shownFor = conversation.id || "new";
      this.system.value = conversation.system || "";
    }
    this.status.textContent = STATUS[settingsStatus] ? t(STATUS[settingsStatus]) : "";
    this.renderInference(model?.limits, conversation);
    const totals = conversationTotals(conversation.messages);
    this.totals.textContent = totals.answers
      ? t("cost.conversation", { in: totals.input, out: totals.output, cost: totals.cost == null ? t("cost.unknown") : formatCost(totals.cost) })
      : "";
  }

  renderInference(limits, conversation) {
    const ranges = { temperature: limits?.temperature, topP: limits?.topP, maxTokens: limits?.maxTokens };
    for (const { key } of INFERENCE_FIELDS) {
      const input = this.inference[key];
      const range = limits ? ranges[key] : key === "maxTokens" ? { min: 1, max: null } : { min: 0, max: 1 };
      input.disabled = range === null;
      if (range) {
        input.min = String(range.min);
        if (range.max != null) input.max = String(range.max);
        else input.removeAttribute("max");
      }
      this.ranges[key].textContent =
        range === null ? t("settings.notAccepted") : range.max != null ? t("settings.range", { min: range.min, max: range.max }) : t("settings.atLeast", { min: range.min });
    }
    if (this.inferenceFor !== (conversation.id || "new")) {
      this.inferenceFor = conversation.id || "new";
      const stored = conversation.inferenceConfig || {};
      for (const { key } of INFERENCE_FIELDS) this.inference[key].value = stored[key] ?? "";
    }
  }
}
