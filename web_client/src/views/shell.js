// The page frame: sidebar drawer, top bar, live region, toasts, the confirm dialog, and the
// full-page cards shown before the chat (start-up failure, sign-in).
import { h, icon } from "../dom.js";
import { t } from "../i18n.js";
import { brand } from "./sidebar.js";

export class Shell {
  /** Lays out the parts built by main.js; `stop` is what Escape does while an answer streams. */
  constructor({ sidebar, settings, conversation, composer, stop }) {
    this.sidebar = sidebar;
    this.settings = settings;
    this.composer = composer;
    this.backdrop = h("div", { class: "backdrop", onclick: () => this.toggleSidebar(false) });
    this.menu = h("button", { type: "button", class: "icon-btn menu", "aria-label": t("sidebar.open"), "aria-controls": "sidebar", "aria-expanded": "false", onclick: () => this.toggleSidebar() }, icon("menu"));
    sidebar.close.addEventListener("click", () => this.toggleSidebar(false));
    this.title = h("h1", { class: "conv-title" }, t("conv.new"));
    this.status = h("div", { id: "status", class: "sr-only", role: "status", "aria-live": "polite" });
    // Each toast is its own role="alert"; a live region around them would announce twice.
    this.toasts = h("div", { class: "toasts" });
    this.confirmText = h("p", { id: "confirm-text" });
    this.confirm = h(
      "dialog",
      { class: "confirm", "aria-labelledby": "confirm-title", "aria-describedby": "confirm-text" },
      h(
        "form",
        { method: "dialog" },
        h("h2", { id: "confirm-title" }, t("confirm.title")),
        this.confirmText,
        h("div", { class: "dialog-actions" }, h("button", { type: "submit", value: "no", class: "btn ghost", autofocus: true }, t("confirm.cancel")), h("button", { type: "submit", value: "yes", class: "btn danger" }, t("confirm.delete"))),
      ),
    );
    this.main = h(
      "main",
      { class: "main", id: "main" },
      h("header", { class: "topbar" }, this.menu, this.title, settings.toggleButton),
      settings.el,
      conversation.el,
      composer.el,
      this.status,
      this.toasts,
      composer.drop,
    );
    composer.acceptDrops(this.main);
    this.el = h("div", { class: "shell" }, h("a", { class: "skip-link", href: "#composer-input" }, t("skip")), sidebar.el, this.backdrop, this.main, this.confirm);
    this.onKey = (e) => {
      if (e.key !== "Escape") return;
      if (this.el.classList.contains("sidebar-open")) {
        this.toggleSidebar(false);
        this.menu.focus();
      } else if (settings.open && settings.el.contains(document.activeElement)) {
        settings.toggle(false);
        settings.toggleButton.focus();
      } else {
        stop();
      }
    };
    document.addEventListener("keydown", this.onKey);
  }

  /** Removes the global listeners (the page is rebuilt when the language changes). */
  destroy() {
    document.removeEventListener("keydown", this.onKey);
  }

  toggleSidebar(open = !this.el.classList.contains("sidebar-open")) {
    this.el.classList.toggle("sidebar-open", open);
    this.menu.setAttribute("aria-expanded", String(open));
    if (open) this.sidebar.newChat.focus();
  }

  /** On a phone the list is a drawer: close it and give focus back to the button that opened it. */
  closeDrawer() {
    if (!this.el.classList.contains("sidebar-open")) return;
    this.toggleSidebar(false);
    this.menu.focus();
  }

  setTitle(title) {
    this.title.textContent = title || t("conv.new");
    document.title = title ? `${title} · Bedrock Chat` : "Bedrock Chat";
  }

  announce(text) {
    this.status.textContent = "";
    // A fresh text node after a tick makes screen readers announce repeated messages too.
    setTimeout(() => (this.status.textContent = text), 30);
  }

  toast(message, { action, actionLabel, sticky = false } = {}) {
    const close = () => item.remove();
    const item = h(
      "div",
      { class: "toast", role: "alert" },
      h("p", {}, message),
      action ? h("button", { type: "button", class: "btn primary small", onclick: () => { close(); action(); } }, actionLabel) : null,
      h("button", { type: "button", class: "icon-btn small", "aria-label": t("toast.dismiss"), onclick: close }, icon("close")),
    );
    this.toasts.append(item);
    if (!sticky) setTimeout(close, 9000);
    return item;
  }

  /** Resolves true when the person confirms the deletion. */
  ask(message) {
    return new Promise((resolve) => {
      this.confirmText.textContent = message;
      this.confirm.returnValue = "";
      this.confirm.addEventListener("close", () => resolve(this.confirm.returnValue === "yes"), { once: true });
      this.confirm.showModal();
    });
  }
}

export function centerCard(title, text, ...actions) {
  return h("div", { class: "center-page" }, h("main", { class: "center-card" }, brand(true), h("h1", {}, title), h("p", {}, text), ...actions));
}

export function signInCard(signIn, error = "") {
  const button = h("button", { type: "button", class: "btn primary", onclick: signIn }, t("signIn.button"));
  const card = centerCard(t("signIn.title"), t("signIn.text"), button);
  if (error) card.querySelector("p").after(h("p", { class: "error-text", role: "alert" }, error));
  queueMicrotask(() => button.focus());
  return card;
}
