// The chat page: builds the views, lays them out in the shell, and subscribes each one to the
// part of the store it renders. Rebuilt as a whole when the language changes.
import { t } from "../i18n.js";
import { watch } from "../store.js";
import { CompareSession } from "../compare.js";
import { h, icon } from "../dom.js";
import { CompareView } from "./compare.js";
import { Composer } from "./composer.js";
import { PromptsDialog } from "./prompts.js";
import { ConversationView } from "./conversation.js";
import { SettingsView } from "./settings.js";
import { Shell } from "./shell.js";
import { Sidebar } from "./sidebar.js";

export class Page {
  /**
   * @param {{store: object, session: import("../session.js").ChatSession, library: import("../library.js").Library,
   *          attachments: import("../attachments.js").Attachments, router: import("../router.js").Router,
   *          account: {localMode: boolean, userLabel: string, signOut: (() => void) | null}}} deps
   */
  constructor({ store, session, library, attachments, router, account, search, prompts }) {
    const sidebar = new Sidebar({
      ...account,
      onNewChat: () => this.startNew(),
      onSearch: (q) => search?.input(q),
      onMore: () => library.refresh({ append: true }),
      onPick: () => this.shell.closeDrawer(),
      onRename: async (conv, title) => {
        if (!(await library.rename(conv.id, title))) return;
        session.retitle(conv.id, title);
        this.shell.announce(t("conv.renamed", { title }));
      },
      onDelete: async (conv) => {
        if (!(await this.shell.ask(t("confirm.text", { title: conv.title || t("conv.untitled") })))) return;
        if (!(await library.remove(conv.id))) return;
        this.shell.announce(t("conv.deleted"));
        if (session.conversation.id === conv.id) this.startNew();
        // Its row (and the button that had the focus) is gone: keep a keyboard user in the list.
        sidebar.newChat.focus();
      },
    });
    const settings = new SettingsView({ lang: store.get().lang, onSave: (patch) => session.saveSettings(patch), onLanguage: (lang) => store.set({ lang }) });
    const conversation = new ConversationView({
      onSend: (text) => this.composer.send(text),
      onContinue: () => session.continueAnswer(),
      onRegenerate: (key) => session.regenerate(key),
      onVersion: (key, index) => session.showVersion(key, index),
      onRate: (key, rating, reason) => session.rate(key, rating, reason),
      onEdit: (key, text) => session.edit(key, text),
    });
    this.composer = new Composer({ session, attachments, toast: (m) => this.shell.toast(m) });
    this.shell = new Shell({ sidebar, settings, conversation, composer: this.composer, stop: () => session.stop() });
    this.settings = settings;
    if (prompts) {
      const dialog = new PromptsDialog({
        library: prompts,
        ask: (question) => this.shell.ask(question),
        onInsert: (text) => this.composer.insertText(text),
        onUseAsSystem: (text) => {
          session.saveSettings({ system: text });
          this.shell.announce(t("prompts.systemSet"));
        },
        onNewChat: (text) => {
          this.startNew();
          session.saveSettings({ system: text });
          this.shell.announce(t("prompts.systemSet"));
        },
      });
      this.shell.el.append(dialog.el);
      this.composer.onPrompts = () => dialog.open(this.composer.input.value.trim());
      this.promptsDialog = dialog;
    }
    // Comparison: its own view in the main area, opened from the top bar.
    const compare = new CompareSession({ api: session.api, store, notify: session.notify });
    const compareView = new CompareView({
      compare,
      onContinued: (id) => {
        compare.toggle(false);
        library.refresh();
        session.open(id);
      },
    });
    this.compareButton = h("button", { type: "button", class: "btn ghost small compare-toggle", "aria-controls": "compare", "aria-expanded": "false", onclick: () => compare.toggle() }, icon("chat"), t("compare.open"));
    settings.toggleButton.before(this.compareButton);
    conversation.el.after(compareView.el);
    this.startNew = (push = true) => {
      attachments.clear();
      session.newChat();
      router.show(null, { push });
      this.shell.closeDrawer();
      this.composer.input.focus();
    };
    this.unwatch = [
      watch(store, (s) => [s.conversations, s.nextCursor, s.listLoaded, s.conversation.id, s.search], (s) => sidebar.render(s, s.conversation.id)),
      watch(store, (s) => [s.conversation.messages, s.loading], (s) => conversation.render(s.conversation, s.loading)),
      watch(store, (s) => [s.models, s.defaultModel, s.conversation, s.settingsStatus, s.tools, s.defaultTools], (s) => settings.render(s)),
      watch(store, (s) => [s.busy, s.attachments, s.presets, s.models, s.conversation.model], (s) => this.composer.render(s)),
      watch(store, (s) => [s.conversation.title], (s) => this.shell.setTitle(s.conversation.title)),
      watch(store, (s) => [s.prompts], (s) => this.promptsDialog?.render(s.prompts)),
      watch(store, (s) => [s.compare, s.models, s.defaultModel], (s) => {
        const open = Boolean(s.compare?.open);
        compareView.render(s.compare, s.models, s.defaultModel);
        conversation.el.hidden = open;
        this.composer.el.hidden = open;
        this.compareButton.setAttribute("aria-expanded", String(open));
        this.compareButton.lastChild.textContent = open ? t("compare.close") : t("compare.open");
        if (open) this.shell.setTitle(t("compare.title"));
        else this.shell.setTitle(store.get().conversation.title);
      }),
      // The URL follows the open conversation once it has loaded.
      watch(store, (s) => [s.conversation.id, s.loading], (s) => s.loading || router.show(s.conversation.id)),
      // The server names a conversation after its first turn: the list brings the new title.
      watch(store, (s) => [s.conversations], (s) => s.conversations.forEach((c) => session.retitle(c.id, c.title))),
    ];
  }

  get el() {
    return this.shell.el;
  }

  destroy() {
    this.unwatch.forEach((stop) => stop());
    this.shell.destroy();
  }
}
