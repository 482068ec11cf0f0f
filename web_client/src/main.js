// Boots the page and wires the parts: headless state (store, session, library, attachments),
// views that render from it, and the router. No behaviour of its own lives here.
import "./styles.css";
import { Api, describeError, isSignedOut } from "./api.js";
import { Attachments } from "./attachments.js";
import { Auth, AuthError } from "./auth.js";
import { loadConfig } from "./config.js";
import { initialLanguage, saveLanguage, setLanguage, t } from "./i18n.js";
import { Library } from "./library.js";
import { Router } from "./router.js";
import { ChatSession, emptyConversation } from "./session.js";
import { createStore, watch } from "./store.js";
import { uploadFile } from "./uploads.js";
import { Composer } from "./views/composer.js";
import { ConversationView } from "./views/conversation.js";
import { SettingsView } from "./views/settings.js";
import { Shell, centerCard, signInCard } from "./views/shell.js";
import { Sidebar } from "./views/sidebar.js";

const root = document.getElementById("app");
const store = createStore({
  lang: initialLanguage(), conversation: emptyConversation(), busy: null, loading: false, settingsStatus: "",
  conversations: [], nextCursor: null, listLoaded: false, models: [], defaultModel: "", presets: [], attachments: [],
});
const show = (el) => (root.replaceChildren(el), root.removeAttribute("aria-busy"));

async function boot() {
  setLanguage(store.get().lang);
  let config, auth, restoreHash;
  try {
    config = await loadConfig();
  } catch (err) {
    return show(centerCard(t("boot.failedTitle"), t("boot.failedText", { error: err.message })));
  }
  auth = new Auth(config.localMode ? null : config.auth);
  try {
    restoreHash = await auth.completeSignIn();
  } catch (err) {
    return show(signInCard(() => auth.signIn(), err instanceof AuthError ? err.message : describeError(err)));
  }
  if (!auth.signedIn) return show(signInCard(() => auth.signIn()));
  if (restoreHash) window.history.replaceState(null, "", restoreHash);

  const api = new Api(config.apiBase, auth);
  let shell = null;
  const notify = (kind, value) => {
    if (kind === "announce") return shell.announce(value);
    if (kind === "turn-ended") return library.refresh();
    const signIn = isSignedOut(value) && auth.enabled ? { action: () => auth.signIn(), actionLabel: t("signIn.button"), sticky: true } : {};
    shell.toast(typeof value === "string" ? value : describeError(value), signIn);
  };
  const session = new ChatSession({ api, store, upload: uploadFile, notify });
  const library = new Library({ api, store, notify });
  const attachments = new Attachments({ api, store, upload: uploadFile, notify });
  const startNew = (push = true) => (attachments.clear(), session.newChat(), router.show(null, { push }), shell.closeDrawer(), composer.input.focus());
  const router = new Router({ onOpen: (id) => session.open(id), onNew: () => startNew(false) });
  let composer, unwatch = [];

  function mount() {
    shell?.destroy();
    unwatch.forEach((stop) => stop());
    const sidebar = new Sidebar({
      localMode: config.localMode, userLabel: auth.enabled ? auth.userLabel : "", signOut: auth.enabled ? () => auth.signOut() : null,
      onNewChat: () => startNew(), onMore: () => library.refresh({ append: true }), onPick: () => shell.closeDrawer(),
      onRename: async (conv, title) => (await library.rename(conv.id, title)) && (session.retitle(conv.id, title), shell.announce(t("conv.renamed", { title }))),
      onDelete: async (conv) => {
        if (!(await shell.ask(t("confirm.text", { title: conv.title || t("conv.untitled") }))) || !(await library.remove(conv.id))) return;
        shell.announce(t("conv.deleted"));
        if (session.conversation.id === conv.id) startNew();
      },
    });
    const settings = new SettingsView({ lang: store.get().lang, onSave: (patch) => session.saveSettings(patch), onLanguage: (lang) => store.set({ lang }) });
    const conversation = new ConversationView({ onSend: (text) => composer.send(text), onContinue: () => session.continueAnswer() });
    composer = new Composer({ session, attachments, toast: (m) => shell.toast(m) });
    shell = new Shell({ sidebar, settings, conversation, composer, stop: () => session.stop() });
    unwatch = [
      watch(store, (s) => [s.conversations, s.nextCursor, s.listLoaded, s.conversation.id], (s) => sidebar.render(s, s.conversation.id)),
      watch(store, (s) => [s.conversation.messages, s.loading], (s) => conversation.render(s.conversation, s.loading)),
      watch(store, (s) => [s.models, s.defaultModel, s.conversation, s.settingsStatus], (s) => settings.render(s)),
      watch(store, (s) => [s.busy, s.attachments, s.presets, s.models, s.conversation.model], (s) => composer.render(s)),
      watch(store, (s) => [s.conversation.title], (s) => shell.setTitle(s.conversation.title)),
      watch(store, (s) => [s.conversation.id, s.loading], (s) => s.loading || router.show(s.conversation.id)),
      watch(store, (s) => [s.conversations], (s) => s.conversations.forEach((c) => session.retitle(c.id, c.title))),
    ];
    show(shell.el);
    return { settings };
  }

  const { id, quiet } = router.initial();
  store.set({ loading: Boolean(id) }); // the URL keeps its conversation until it has loaded
  mount();
  store.subscribe((s, before) => {
    if (s.lang === before.lang) return;
    setLanguage(s.lang);
    saveLanguage(s.lang);
    mount().settings.toggle(true);
    document.getElementById("language-select").focus();
  });
  library.loadModels();
  library.loadPresets();
  await Promise.all([library.refresh(), id ? session.open(id, { quiet }) : null]);
  composer.input.focus();
}

boot();
