// Boots the page and wires the parts: headless state (store, session, library, attachments),
// the router, and the page of views that render from the store. No behaviour of its own.
import "./styles.css";
import { Api, describeError, isSignedOut } from "./api.js";
import { Attachments } from "./attachments.js";
import { Auth, AuthError } from "./auth.js";
import { loadConfig } from "./config.js";
import { initialLanguage, saveLanguage, setLanguage, t } from "./i18n.js";
import { Library } from "./library.js";
import { PromptLibrary, emptyPrompts } from "./prompts.js";
import { Router } from "./router.js";
import { ConversationSearch, emptySearch } from "./search.js";
import { ChatSession, emptyConversation } from "./session.js";
import { createStore } from "./store.js";
import { uploadFile } from "./uploads.js";
import { Page } from "./views/page.js";
import { centerCard, signInCard } from "./views/shell.js";

const root = document.getElementById("app");
const show = (el) => (root.replaceChildren(el), root.removeAttribute("aria-busy"));
const store = createStore({
  lang: initialLanguage(), conversation: emptyConversation(), busy: null, loading: false, settingsStatus: "",
  conversations: [], nextCursor: null, listLoaded: false, models: [], defaultModel: "", presets: [], tools: [], defaultTools: [], attachments: [],
  search: emptySearch(), prompts: emptyPrompts(),
});

async function boot() {
  setLanguage(store.get().lang);
  let config, restoreHash;
  try {
    config = await loadConfig();
  } catch (err) {
    return show(centerCard(t("boot.failedTitle"), t("boot.failedText", { error: err.message })));
  }
  const auth = new Auth(config.localMode ? null : config.auth);
  try {
    restoreHash = await auth.completeSignIn();
  } catch (err) {
    return show(signInCard(() => auth.signIn(), err instanceof AuthError ? err.message : describeError(err)));
  }
  if (!auth.signedIn) return show(signInCard(() => auth.signIn()));
  if (restoreHash) window.history.replaceState(null, "", restoreHash);

  let page = null;
  const notify = (kind, value) => {
    if (kind === "announce") return page.shell.announce(value);
    if (kind === "turn-ended") return library.refresh();
    const signIn = isSignedOut(value) && auth.enabled ? { action: () => auth.signIn(), actionLabel: t("signIn.button"), sticky: true } : {};
    page.shell.toast(typeof value === "string" ? value : describeError(value), signIn);
  };
  const api = new Api(config.apiBase, auth);
  const session = new ChatSession({ api, store, upload: uploadFile, notify });
  const library = new Library({ api, store, notify });
  const attachments = new Attachments({ api, store, upload: uploadFile, notify });
  const search = new ConversationSearch({ api, store });
  const prompts = new PromptLibrary({ api, store, notify });
  const router = new Router({ onOpen: (id) => session.open(id), onNew: () => page.startNew(false) });
  const account = { localMode: config.localMode, userLabel: auth.enabled ? auth.userLabel : "", signOut: auth.enabled ? () => auth.signOut() : null };
  const mount = () => {
    page?.destroy();
    page = new Page({ store, session, library, attachments, router, account, search, prompts });
    show(page.el);
  };

  const { id, quiet } = router.initial();
  store.set({ loading: Boolean(id) }); // the URL keeps its conversation until it has loaded
  mount();
  store.subscribe((s, before) => {
    if (s.lang === before.lang) return;
    setLanguage(s.lang);
    saveLanguage(s.lang);
    mount();
    page.settings.toggle(true);
    document.getElementById("language-select").focus();
  });
  library.loadModels();
  library.loadPresets();
  library.loadTools();
  await Promise.all([library.refresh(), id ? session.open(id, { quiet }) : null]);
  page.composer.input.focus();
}

boot();
