// The saved prompts dialog: the caller's library, each prompt with Insert (into the composer),
// Use as system prompt (this conversation), New chat with it, and Delete; and a form to save one.
import { h, icon } from "../dom.js";
import { t } from "../i18n.js";

export class PromptsDialog {
  /**
   * @param {{library: import("../prompts.js").PromptLibrary, onInsert: (text: string) => void,
   *          onUseAsSystem: (text: string) => void, onNewChat: (text: string) => void,
   *          ask: (question: string) => Promise<boolean>}} actions
   */
  constructor(actions) {
    this.actions = actions;
    this.list = h("ul", { class: "prompt-list", "aria-label": t("prompts.list") });
    this.empty = h("p", { class: "muted prompt-empty" }, t("prompts.empty"));
    this.title = h("input", { type: "text", id: "prompt-title", maxlength: 200, required: true, autocomplete: "off" });
    this.text = h("textarea", { id: "prompt-text", rows: 4, required: true, maxlength: 8000 });
    this.form = h(
      "form",
      { class: "prompt-form", onsubmit: (e) => { e.preventDefault(); this.save(); } },
      h("h3", { class: "prompt-form-title" }, t("prompts.new")),
      h("label", { for: "prompt-title" }, t("prompts.title")),
      this.title,
      h("label", { for: "prompt-text" }, t("prompts.text")),
      this.text,
      h("div", { class: "dialog-actions" }, h("button", { type: "submit", class: "btn primary small" }, t("prompts.save"))),
    );
    this.el = h(
      "dialog",
      { class: "prompts-dialog", "aria-labelledby": "prompts-title" },
      h(
        "div",
        { class: "prompts-head" },
        h("h2", { id: "prompts-title" }, t("prompts.heading")),
        h("button", { type: "button", class: "icon-btn", "aria-label": t("prompts.close"), onclick: () => this.el.close() }, icon("close")),
      ),
      this.empty,
      this.list,
      this.form,
    );
  }

  /** Opens the dialog; `draft` (the composer's text) pre-fills the new prompt's text. */
  open(draft = "") {
    if (draft && !this.text.value) this.text.value = draft;
    this.actions.library.load();
    if (!this.el.open) this.el.showModal();
  }

  render(prompts) {
    const items = prompts?.items || [];
    this.empty.hidden = items.length > 0 || !prompts?.loaded;
    this.empty.textContent = prompts?.error || t("prompts.empty");
    this.list.replaceChildren(...items.map((p) => this.item(p)));
  }

  item(prompt) {
    const act = (label, handler, extra = "") =>
      h("button", { type: "button", class: `btn ghost small ${extra}`, "aria-label": `${label}: ${prompt.title}`, onclick: handler }, label);
    const close = (fn) => () => {
      this.el.close();
      fn(prompt.text);
    };
    return h(
      "li",
      { class: "prompt-item" },
      h("p", { class: "prompt-name" }, prompt.title),
      h("p", { class: "prompt-preview muted" }, prompt.text),
      h(
        "div",
        { class: "prompt-actions" },
        act(t("prompts.insert"), close(this.actions.onInsert)),
        act(t("prompts.useAsSystem"), close(this.actions.onUseAsSystem)),
        act(t("prompts.newChat"), close(this.actions.onNewChat)),
        act(t("prompts.delete"), async () => {
          if (await this.actions.ask(t("prompts.confirmDelete", { title: prompt.title }))) this.actions.library.remove(prompt.promptId);
        }, "danger-text"),
      ),
    );
  }

  async save() {
    const saved = await this.actions.library.save({ title: this.title.value, text: this.text.value });
    if (saved) {
      this.title.value = "";
      this.text.value = "";
    }
  }
}
