// The open conversation: its messages (keyed views updated in place while an answer streams),
// or an empty state with starter prompts.
import { copyText, h, icon } from "../dom.js";
import { t } from "../i18n.js";
import { AnswerView, DocumentCard, UserView } from "./messages.js";

const STARTERS = ["starter.explain", "starter.email", "starter.code", "starter.plan"];

export class ConversationView {
  /**
   * @param {{onSend: (text: string) => void, onContinue: () => void, onRegenerate: (key: string) => void,
   *          onVersion: (key: string, index: number) => void, onRate: (key: string, rating: string, reason?: string) => void,
   *          onEdit: (key: string, text: string) => void}} actions
   */
  constructor(actions) {
    this.actions = actions;
    this.onSend = actions.onSend;
    this.views = new Map(); // message key -> {msg, last, view}
    this.el = h("div", { id: "messages", class: "messages", role: "log", "aria-label": t("msg.log"), tabindex: "-1", onclick: (e) => this.onClick(e) });
    // Follow a growing answer while the reader is at the bottom; scrolling up stops following.
    this.stick = true;
    this.el.addEventListener("scroll", () => (this.stick = this.isNearBottom()));
  }

  /** Keeps the newest text in view (after each render, including an answer's per-frame ones). */
  follow() {
    if (this.stick) this.el.scrollTo({ top: this.el.scrollHeight, behavior: "instant" });
  }

  /** Renders `conversation.messages`; `loading` shows a placeholder instead. */
  render(conversation, loading) {
    if (loading) {
      this.stick = true;
      this.views.clear();
      this.el.replaceChildren(h("p", { class: "loading muted" }, t("conv.loading")));
      return;
    }
    const messages = conversation.messages;
    if (!messages.length) {
      this.views.clear();
      if (!this.el.querySelector(".empty-state")) this.el.replaceChildren(this.emptyState());
      return;
    }
    const lastAnswer = messages.findLast((m) => m.role === "assistant")?.key;
    const next = new Map();
    let added = false;
    const els = messages.map((msg) => {
      const last = msg.key === lastAnswer;
      let entry = this.views.get(msg.key);
      if (!entry) {
        entry = { msg, last, view: this.create(msg, last) };
        added = true;
      } else if (entry.msg !== msg || entry.last !== last) {
        entry.view.update?.(msg, { last });
        entry.msg = msg;
        entry.last = last;
      }
      next.set(msg.key, entry);
      return entry.view.el;
    });
    this.views = next;
    const current = [...this.el.children];
    if (current.length !== els.length || current.some((el, i) => el !== els[i])) this.el.replaceChildren(...els);
    if (added) this.stick = true;
    this.follow();
  }

  create(msg, last) {
    if (msg.role === "user") return new UserView(msg, { onEdit: this.actions.onEdit });
    if (msg.role === "document") return new DocumentCard(msg);
    const view = new AnswerView(msg, { ...this.actions, onRender: () => this.follow() });
    view.update(msg, { last });
    return view;
  }

  isNearBottom() {
    return this.el.scrollHeight - this.el.scrollTop - this.el.clientHeight < 120;
  }

  emptyState() {
    return h(
      "div",
      { class: "empty-state" },
      h("div", { class: "empty-mark", "aria-hidden": "true" }, icon("chat")),
      h("h2", {}, t("empty.title")),
      h("p", { class: "muted" }, t("empty.text")),
      h(
        "ul",
        { class: "starters", "aria-label": t("empty.starters") },
        STARTERS.map((key) => h("li", {}, h("button", { type: "button", class: "starter", onclick: () => this.onSend(t(key)) }, t(key)))),
      ),
    );
  }

  async onClick(e) {
    const button = e.target.closest(".code-copy");
    if (!button) return;
    const code = button.closest(".code-block")?.querySelector("code");
    if (!code) return;
    const ok = await copyText(code.textContent);
    button.textContent = ok ? t("code.copied") : t("code.copyFailed");
    setTimeout(() => (button.textContent = t("code.copy")), 1500);
  }
}
