// The chat page: sign-in, conversation sidebar, streamed answers, documents and images.
import "./styles.css";
import { Api, ApiError, describeError, isSignedOut } from "./api.js";
import { Auth, AuthError } from "./auth.js";
import { loadConfig } from "./config.js";
import { copyText, h, icon } from "./dom.js";
import { ACCEPT, DOCUMENT_NAMES, IMAGE_NAMES, classify } from "./filetypes.js";
import { uploadFile } from "./uploads.js";
import { AnswerView, DocumentCard, userMessage } from "./views.js";

const LAST_KEY = "chat.lastConversation";
const MAX_IMAGES = 10;

const state = {
  api: null,
  auth: null,
  config: null,
  conversations: [],
  nextCursor: null,
  current: newConversation(),
  models: [],
  defaultModel: "",
  presets: [],
  busy: null, // {controller, kind} while an answer streams or a document is processed
  images: [], // attached images: {key, file, name, url, uploadId, status, progress, error, controller}
  loadToken: 0,
};

const ui = {};

function newConversation() {
  return { id: null, title: "", model: "", system: "", messages: [] };
}

// ---------------------------------------------------------------- boot

async function boot() {
  const root = document.getElementById("app");
  let config;
  try {
    config = await loadConfig();
  } catch (err) {
    root.replaceChildren(centerCard("The app could not start", `Its configuration could not be loaded (${err.message}). Reload the page to try again.`));
    root.removeAttribute("aria-busy");
    return;
  }
  state.config = config;
  state.auth = new Auth(config.localMode ? null : config.auth);
  state.api = new Api(config.apiBase, state.auth);

  let restoreHash = null;
  try {
    restoreHash = await state.auth.completeSignIn();
  } catch (err) {
    root.replaceChildren(signInCard(err instanceof AuthError ? err.message : describeError(err)));
    root.removeAttribute("aria-busy");
    return;
  }
  if (!state.auth.signedIn) {
    root.replaceChildren(signInCard());
    root.removeAttribute("aria-busy");
    return;
  }
  if (restoreHash !== null && restoreHash) window.history.replaceState(null, "", restoreHash);

  root.replaceChildren(buildShell());
  root.removeAttribute("aria-busy");
  window.addEventListener("hashchange", onHashChange);
  document.addEventListener("keydown", onGlobalKey);

  loadModels();
  loadPresets();
  const fromHash = idFromHash();
  const id = fromHash || localStorage.getItem(LAST_KEY);
  await Promise.all([refreshConversations(), id ? openConversation(id, { quiet: !fromHash }) : showConversation(newConversation())]);
  ui.input.focus();
}

function centerCard(title, text, ...actions) {
  return h(
    "div",
    { class: "center-page" },
    h("main", { class: "center-card" }, h("div", { class: "brand big" }, h("span", { class: "brand-mark", "aria-hidden": "true" }), "Bedrock Chat"), h("h1", {}, title), h("p", {}, text), ...actions),
  );
}

function signInCard(error = "") {
  const button = h("button", { type: "button", class: "btn primary", onclick: () => state.auth.signIn() }, "Sign in");
  const card = centerCard("Sign in to start chatting", "You will be taken to the sign-in page and brought back here.", button);
  if (error) card.querySelector("p").after(h("p", { class: "error-text", role: "alert" }, error));
  queueMicrotask(() => button.focus());
  return card;
}

// ---------------------------------------------------------------- layout

function buildShell() {
  ui.list = h("ul", { class: "conv-list" });
  ui.more = h("button", { type: "button", class: "btn ghost small more", hidden: true, onclick: () => refreshConversations({ append: true }) }, "Show older");
  const userLabel = state.auth.enabled ? state.auth.userLabel : "";
  ui.sidebar = h(
    "aside",
    { id: "sidebar", class: "sidebar", "aria-label": "Conversations" },
    h(
      "div",
      { class: "sidebar-head" },
      h("span", { class: "brand" }, h("span", { class: "brand-mark", "aria-hidden": "true" }), "Bedrock Chat"),
      h("button", { type: "button", class: "icon-btn close-sidebar", "aria-label": "Close conversation list", onclick: () => toggleSidebar(false) }, icon("close")),
    ),
    h("button", { type: "button", class: "btn primary new-chat", onclick: () => startNewChat() }, icon("plus"), "New chat"),
    h("nav", { class: "conv-nav", "aria-label": "Conversation history" }, ui.list, ui.more),
    h(
      "div",
      { class: "sidebar-foot" },
      state.config.localMode ? h("span", { class: "pill", title: "Running on the local stack with the development identity" }, "Local mode") : null,
      userLabel ? h("span", { class: "user-label" }, userLabel) : null,
      state.auth.enabled
        ? h("button", { type: "button", class: "btn ghost small", onclick: () => state.auth.signOut() }, icon("logout"), "Sign out")
        : null,
    ),
  );
  ui.backdrop = h("div", { class: "backdrop", onclick: () => toggleSidebar(false) });
  ui.menu = h("button", { type: "button", class: "icon-btn menu", "aria-label": "Open conversation list", "aria-controls": "sidebar", "aria-expanded": "false", onclick: () => toggleSidebar() }, icon("menu"));
  ui.title = h("h1", { class: "conv-title" }, "New chat");
  ui.settingsToggle = h(
    "button",
    { type: "button", class: "btn ghost settings-toggle", "aria-expanded": "false", "aria-controls": "settings", onclick: () => toggleSettings() },
    icon("sliders"),
    h("span", { class: "sr-only" }, "Model and instructions: "),
    h("span", { class: "settings-label" }, "Model"),
  );

  // Settings: model and system prompt of this conversation.
  ui.model = h("select", { id: "model-select", onchange: () => saveSettings({ model: ui.model.value }) });
  ui.system = h("textarea", { id: "system-input", rows: 3, maxlength: 8000, placeholder: "For example: You are a concise assistant. Answer in British English." });
  ui.settingsStatus = h("span", { class: "muted small-text", role: "status" });
  ui.settings = h(
    "section",
    { id: "settings", class: "settings", hidden: true, "aria-label": "Conversation settings" },
    h("div", { class: "field" }, h("label", { for: "model-select" }, "Model"), ui.model),
    h("div", { class: "field grow" }, h("label", { for: "system-input" }, "System prompt"), ui.system),
    h(
      "div",
      { class: "settings-actions" },
      h("button", { type: "button", class: "btn primary small", onclick: () => saveSettings({ system: ui.system.value }) }, "Save instructions"),
      ui.settingsStatus,
    ),
  );

  ui.messages = h("div", { id: "messages", class: "messages", role: "log", "aria-label": "Messages", tabindex: "-1" });
  ui.status = h("div", { id: "status", class: "sr-only", role: "status", "aria-live": "polite" });
  // Each toast is its own role="alert"; a live region around them would announce twice.
  ui.toasts = h("div", { class: "toasts" });

  // Composer.
  ui.file = h("input", { type: "file", id: "file-input", class: "sr-only", multiple: true, accept: ACCEPT, tabindex: "-1", "aria-label": "Choose files to attach", onchange: () => {
    handleFiles([...ui.file.files]);
    ui.file.value = "";
  } });
  ui.tray = h("ul", { class: "tray", "aria-label": "Attached images", hidden: true });
  ui.preset = h("select", { id: "preset-select", onchange: onPresetChange }, h("option", { value: "" }, "None: ask your own question"));
  ui.imageWarning = h("span", { class: "preset-warning", hidden: true }, "The chosen model may not read images: pick another under Model.");
  ui.presetRow = h("div", { class: "preset-row", hidden: true }, h("label", { for: "preset-select" }, "Image task"), ui.preset, ui.imageWarning);
  ui.input = h("textarea", {
    id: "composer-input",
    rows: 1,
    placeholder: "Message Bedrock Chat",
    "aria-describedby": "composer-hint",
    onkeydown: onComposerKey,
    oninput: autoGrow,
  });
  ui.send = h("button", { type: "submit", class: "send-btn", "aria-label": "Send message", title: "Send (Enter)" }, icon("send"));
  ui.stop = h("button", { type: "button", class: "stop-btn", hidden: true, onclick: stopStreaming }, icon("stop"), h("span", {}, "Stop"));
  ui.attach = h("button", { type: "button", class: "icon-btn attach", "aria-label": "Attach a document or images", title: "Attach a document or images", onclick: () => ui.file.click() }, icon("clip"));
  ui.form = h(
    "form",
    { class: "composer", "aria-label": "Write a message", onsubmit: (e) => { e.preventDefault(); sendMessage(); } },
    ui.tray,
    ui.presetRow,
    h("div", { class: "composer-box" }, ui.attach, ui.file, h("label", { for: "composer-input", class: "sr-only" }, "Message"), ui.input, ui.send, ui.stop),
    h("p", { id: "composer-hint", class: "hint" }, "Enter to send, Shift+Enter for a new line. Attach or drop a document to summarise it, or images to ask about them."),
  );
  // Pasting a screenshot attaches it, like picking or dropping a file.
  ui.input.addEventListener("paste", (e) => {
    const files = [...(e.clipboardData?.files || [])];
    if (!files.length) return;
    e.preventDefault();
    handleFiles(files);
  });
  ui.drop = h("div", { class: "drop-overlay", hidden: true, "aria-hidden": "true" }, h("div", {}, icon("clip"), "Drop a document or images"));

  ui.main = h(
    "main",
    { class: "main", id: "main" },
    h("header", { class: "topbar" }, ui.menu, ui.title, ui.settingsToggle),
    ui.settings,
    ui.messages,
    ui.form,
    ui.status,
    ui.toasts,
    ui.drop,
  );
  ui.confirm = buildConfirmDialog();
  setupDrop(ui.main);
  ui.messages.addEventListener("click", onMessagesClick);
  ui.shell = h(
    "div",
    { class: "shell" },
    h("a", { class: "skip-link", href: "#composer-input" }, "Skip to the message box"),
    ui.sidebar,
    ui.backdrop,
    ui.main,
    ui.confirm,
  );
  return ui.shell;
}

function buildConfirmDialog() {
  const text = h("p", { id: "confirm-text" });
  const yes = h("button", { type: "submit", value: "yes", class: "btn danger" }, "Delete");
  const dialog = h(
    "dialog",
    { class: "confirm", "aria-labelledby": "confirm-title", "aria-describedby": "confirm-text" },
    h(
      "form",
      { method: "dialog" },
      h("h2", { id: "confirm-title" }, "Delete conversation?"),
      text,
      h("div", { class: "dialog-actions" }, h("button", { type: "submit", value: "no", class: "btn ghost", autofocus: true }, "Cancel"), yes),
    ),
  );
  dialog.ask = (message) =>
    new Promise((resolve) => {
      text.textContent = message;
      dialog.returnValue = "";
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
      dialog.showModal();
    });
  return dialog;
}

function toggleSidebar(open = !ui.shell.classList.contains("sidebar-open")) {
  ui.shell.classList.toggle("sidebar-open", open);
  ui.menu.setAttribute("aria-expanded", String(open));
  if (open) ui.sidebar.querySelector(".new-chat").focus();
}

function toggleSettings(open = ui.settings.hidden) {
  ui.settings.hidden = !open;
  ui.settingsToggle.setAttribute("aria-expanded", String(open));
  if (open) ui.model.focus();
}

function onGlobalKey(e) {
  if (e.key !== "Escape") return;
  if (ui.shell.classList.contains("sidebar-open")) {
    toggleSidebar(false);
    ui.menu.focus();
  } else if (!ui.settings.hidden && ui.settings.contains(document.activeElement)) {
    toggleSettings(false);
    ui.settingsToggle.focus();
  } else if (state.busy) {
    stopStreaming();
  }
}

function announce(text) {
  ui.status.textContent = "";
  // A fresh text node after a tick makes screen readers announce repeated messages too.
  setTimeout(() => (ui.status.textContent = text), 30);
}

function toast(message, { action, actionLabel, sticky = false } = {}) {
  const close = () => item.remove();
  const item = h(
    "div",
    { class: "toast", role: "alert" },
    h("p", {}, message),
    action ? h("button", { type: "button", class: "btn primary small", onclick: () => { close(); action(); } }, actionLabel) : null,
    h("button", { type: "button", class: "icon-btn small", "aria-label": "Dismiss message", onclick: close }, icon("close")),
  );
  ui.toasts.append(item);
  if (!sticky) setTimeout(close, 9000);
  return item;
}

function showError(err) {
  if (isSignedOut(err) && state.auth.enabled) {
    toast(describeError(err), { action: () => state.auth.signIn(), actionLabel: "Sign in", sticky: true });
  } else {
    toast(describeError(err));
  }
}

// ---------------------------------------------------------------- models, presets, settings

async function loadModels() {
  try {
    const data = await state.api.json("GET", "/models");
    state.models = data.models || [];
    state.defaultModel = data.defaultModel || state.models[0]?.id || "";
  } catch (err) {
    state.models = [];
    if (isSignedOut(err)) showError(err);
  }
  renderModelOptions();
}

function renderModelOptions() {
  const chosen = state.current.model || state.defaultModel;
  const options = state.models.map((m) =>
    h("option", { value: m.id }, m.provider ? `${m.name || m.id} (${m.provider})` : m.name || m.id),
  );
  if (chosen && !state.models.some((m) => m.id === chosen)) options.unshift(h("option", { value: chosen }, chosen));
  if (!options.length) options.push(h("option", { value: "" }, "Default model"));
  ui.model.replaceChildren(...options);
  ui.model.value = chosen;
  const model = state.models.find((m) => m.id === chosen);
  ui.settingsToggle.querySelector(".settings-label").textContent = model ? model.name || model.id : chosen || "Model";
  updateImageWarning();
}

function updateImageWarning() {
  const model = state.models.find((m) => m.id === (state.current.model || state.defaultModel));
  const modalities = (model?.inputModalities || []).map((m) => String(m).toUpperCase());
  ui.imageWarning.hidden = !state.images.length || !model || !modalities.length || modalities.includes("IMAGE");
}

async function loadPresets() {
  try {
    const data = await state.api.json("GET", "/presets");
    state.presets = data.presets || [];
  } catch {
    state.presets = [];
  }
  ui.preset.replaceChildren(
    h("option", { value: "" }, "None: ask your own question"),
    ...state.presets.map((p) => h("option", { value: p.name }, p.label || p.name)),
  );
}

function onPresetChange() {
  const preset = state.presets.find((p) => p.name === ui.preset.value);
  if (preset) {
    ui.input.value = preset.prompt;
    autoGrow();
    ui.input.focus();
  }
}

async function saveSettings(patch) {
  const conv = state.current;
  Object.assign(conv, patch);
  renderModelOptions();
  if (!conv.id) {
    ui.settingsStatus.textContent = "Will apply to this new conversation.";
    return;
  }
  ui.settingsStatus.textContent = "Saving…";
  try {
    const saved = await state.api.updateConversation(conv.id, patch);
    if (saved && state.current.id === saved.id) {
      state.current.model = saved.model ?? state.current.model;
      state.current.system = saved.system ?? state.current.system;
    }
    ui.settingsStatus.textContent = "Saved.";
  } catch (err) {
    ui.settingsStatus.textContent = "";
    showError(err);
  }
}

// ---------------------------------------------------------------- conversations

async function refreshConversations({ append = false } = {}) {
  try {
    const page = await state.api.listConversations(append ? state.nextCursor : null);
    const items = page.items || [];
    state.conversations = append ? [...state.conversations, ...items] : items;
    state.nextCursor = page.nextCursor || null;
    // The server names a new conversation after its first turn.
    const current = state.conversations.find((c) => c.id === state.current.id);
    if (current && current.title !== state.current.title) {
      state.current.title = current.title;
      setTitle(current.title);
    }
  } catch (err) {
    // A failed background refresh stays quiet unless it means the person was signed out.
    if (append || isSignedOut(err)) showError(err);
  }
  renderConversationList();
}

function renderConversationList() {
  const items = state.conversations.map((c) => conversationItem(c));
  if (!items.length) items.push(h("li", { class: "conv-empty muted" }, "No conversations yet."));
  ui.list.replaceChildren(...items);
  ui.more.hidden = !state.nextCursor;
}

function conversationItem(conv) {
  const title = conv.title || "Untitled conversation";
  const active = conv.id === state.current.id;
  const link = h(
    "a",
    { class: "conv-link", href: `#/c/${conv.id}`, "aria-current": active ? "page" : null, onclick: closeDrawerAfterPick },
    h("span", { class: "conv-name" }, title),
    h("span", { class: "conv-date" }, shortDate(conv.updatedAt || conv.createdAt)),
  );
  const li = h(
    "li",
    { class: `conv-item${active ? " active" : ""}`, dataset: { id: conv.id } },
    link,
    h(
      "div",
      { class: "conv-actions" },
      h("button", { type: "button", class: "icon-btn small", "aria-label": `Rename “${title}”`, title: "Rename", onclick: () => startRename(li, conv) }, icon("pencil")),
      h("button", { type: "button", class: "icon-btn small", "aria-label": `Delete “${title}”`, title: "Delete", onclick: () => deleteConversation(conv) }, icon("trash")),
    ),
  );
  return li;
}

/** On a phone the list is a drawer: close it, and give focus back to the button that opened it. */
function closeDrawerAfterPick() {
  if (!ui.shell.classList.contains("sidebar-open")) return;
  toggleSidebar(false);
  ui.menu.focus();
}

function shortDate(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const today = new Date();
  if (date.toDateString() === today.toDateString()) {
    return date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  }
  return date.toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

function startRename(li, conv) {
  const input = h("input", { type: "text", class: "rename-input", value: conv.title || "", maxlength: 200, "aria-label": "New conversation title" });
  let done = false;
  const finish = async (save) => {
    if (done) return;
    done = true;
    const title = input.value.trim();
    if (save && title && title !== conv.title) {
      try {
        await state.api.updateConversation(conv.id, { title });
        conv.title = title;
        if (state.current.id === conv.id) setTitle(title);
        announce(`Renamed to ${title}`);
      } catch (err) {
        showError(err);
      }
    }
    renderConversationList();
    ui.list.querySelector(`[data-id="${conv.id}"] .conv-link`)?.focus();
  };
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      finish(true);
    } else if (e.key === "Escape") {
      e.stopPropagation();
      finish(false);
    }
  });
  input.addEventListener("blur", () => finish(true));
  li.replaceChildren(input);
  input.focus();
  input.select();
}

async function deleteConversation(conv) {
  const ok = await ui.confirm.ask(`“${conv.title || "Untitled conversation"}” and all its messages will be deleted. This cannot be undone.`);
  if (!ok) return;
  try {
    await state.api.deleteConversation(conv.id);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) {
      showError(err);
      return;
    }
  }
  state.conversations = state.conversations.filter((c) => c.id !== conv.id);
  renderConversationList();
  announce("Conversation deleted.");
  if (state.current.id === conv.id) startNewChat();
  else ui.input.focus();
}

function idFromHash() {
  const match = /^#\/c\/([0-9a-z]{10,40})$/i.exec(window.location.hash);
  return match ? match[1].toLowerCase() : null;
}

function onHashChange() {
  const id = idFromHash();
  if (id === state.current.id) return;
  if (id) openConversation(id);
  else if (!window.location.hash || window.location.hash === "#/") startNewChat({ updateHash: false });
}

function setHash(id) {
  const target = id ? `#/c/${id}` : "#/";
  if (window.location.hash !== target) window.history.replaceState(null, "", target);
  if (id) localStorage.setItem(LAST_KEY, id);
  else localStorage.removeItem(LAST_KEY);
}

function startNewChat({ updateHash = true } = {}) {
  if (state.busy) stopStreaming();
  clearImages();
  showConversation(newConversation());
  if (updateHash) {
    if (window.location.hash && window.location.hash !== "#/") window.history.pushState(null, "", "#/");
    localStorage.removeItem(LAST_KEY);
  }
  toggleSidebar(false);
  ui.input.focus();
}

async function openConversation(id, { quiet = false } = {}) {
  if (state.busy) stopStreaming();
  const token = ++state.loadToken;
  ui.messages.replaceChildren(h("p", { class: "loading muted" }, "Loading conversation…"));
  try {
    const conv = await state.api.getConversation(id);
    if (token !== state.loadToken) return;
    showConversation(conv);
    setHash(conv.id);
  } catch (err) {
    if (token !== state.loadToken) return;
    if (!quiet || isSignedOut(err)) showError(err);
    showConversation(newConversation());
    setHash(null);
  }
}

function setTitle(title) {
  ui.title.textContent = title || "New chat";
  document.title = title ? `${title} · Bedrock Chat` : "Bedrock Chat";
}

function showConversation(conv) {
  state.current = { ...newConversation(), ...conv, messages: conv.messages || [] };
  setTitle(conv.title);
  ui.system.value = state.current.system || "";
  ui.settingsStatus.textContent = "";
  renderModelOptions();
  const views = state.current.messages.map((m) =>
    m.role === "user"
      ? userMessage(m.content, [], m.attachments || [])
      : new AnswerView({ text: m.content, usage: m.usage, status: m.status, model: m.model }).el,
  );
  if (!views.length) views.push(emptyState());
  ui.messages.replaceChildren(...views);
  for (const item of ui.list.querySelectorAll(".conv-item")) {
    const active = item.dataset.id === state.current.id;
    item.classList.toggle("active", active);
    const link = item.querySelector(".conv-link");
    if (active) link?.setAttribute("aria-current", "page");
    else link?.removeAttribute("aria-current");
  }
  scrollToBottom(true);
}

function emptyState() {
  return h(
    "div",
    { class: "empty-state" },
    h("div", { class: "empty-mark", "aria-hidden": "true" }, icon("chat")),
    h("h2", {}, "How can I help?"),
    h("p", { class: "muted" }, "Ask a question, attach a document to get a summary, or add images and ask about them."),
  );
}

/** The server gave this turn a conversation id: adopt it (first turn of a new chat). */
function adoptConversation(id) {
  if (!id || state.current.id === id) return;
  state.current.id = id;
  setHash(id);
  refreshConversations();
}

// ---------------------------------------------------------------- sending and streaming

function isNearBottom() {
  const m = ui.messages;
  return m.scrollHeight - m.scrollTop - m.clientHeight < 120;
}

function scrollToBottom(force = false) {
  if (force || isNearBottom()) ui.messages.scrollTop = ui.messages.scrollHeight;
}

function appendView(el) {
  ui.messages.querySelector(".empty-state")?.remove();
  ui.messages.append(el);
  scrollToBottom(true);
}

function setBusy(busy) {
  state.busy = busy;
  ui.send.hidden = Boolean(busy);
  ui.stop.hidden = !busy;
  ui.send.disabled = Boolean(busy);
  ui.attach.disabled = Boolean(busy);
  ui.form.classList.toggle("busy", Boolean(busy));
}

function onComposerKey(e) {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    sendMessage();
  }
}

function autoGrow() {
  ui.input.style.height = "auto";
  ui.input.style.height = `${Math.min(ui.input.scrollHeight, 240)}px`;
}

function stopStreaming() {
  state.busy?.controller.abort();
}

async function sendMessage() {
  if (state.busy) return;
  const text = ui.input.value.trim();
  const images = state.images;
  if (!text && !images.length) return;
  const pending = images.filter((img) => img.status !== "ready");
  if (pending.some((img) => img.status === "error")) {
    toast("Remove the images that failed to upload, then send again.");
    return;
  }
  if (pending.length) {
    toast("The images are still uploading. Send again when they are ready.");
    return;
  }
  const preset = (images.length && ui.preset.value) || undefined;
  // The API accepts an empty message with a preset; with neither, ask for a description.
  const fallback = state.presets.find((p) => p.name === "description")?.prompt || "Describe this image.";
  const message = text || (images.length && !preset ? fallback : "");
  const shown = message || state.presets.find((p) => p.name === preset)?.label || "";
  const conv = state.current;
  const body = { message, model: conv.model || state.defaultModel || undefined };
  if (conv.id) body.conversationId = conv.id;
  else if (conv.system) body.system = conv.system;
  if (images.length) {
    body.attachments = images.map((img) => img.uploadId);
    if (preset) body.preset = preset;
  }

  const userView = userMessage(shown, images.map((img) => ({ url: img.url, name: img.name })));
  appendView(userView);
  ui.input.value = "";
  autoGrow();
  const sentImages = images;
  state.images = [];
  renderTray();
  ui.preset.value = "";

  const controller = new AbortController();
  setBusy({ controller, kind: "chat" });
  const answer = new AnswerView({ model: body.model });
  answer.startStreaming();
  appendView(answer.el);
  announce("The assistant is answering.");
  let accepted = false;
  try {
    for await (const { event, data } of state.api.stream("/chat", body, controller.signal)) {
      accepted = true;
      if (handleStreamEvent(event, data, answer)) break;
    }
    answer.finish({ stopReason: answer.stopReason });
    announce("Answer complete.");
  } catch (err) {
    if (err.name === "AbortError") {
      answer.finish({ stopped: true });
      announce("Stopped.");
    } else if (!accepted) {
      // Nothing was stored: put the message back so the person can retry.
      answer.el.remove();
      userView.remove();
      ui.input.value = text;
      autoGrow();
      state.images = sentImages;
      renderTray();
      if (!ui.messages.children.length) ui.messages.append(emptyState());
      showError(err);
    } else {
      answer.finish({ error: describeError(err) });
      if (isSignedOut(err)) showError(err);
      announce("The answer failed.");
    }
  } finally {
    setBusy(null);
    ui.input.focus();
    refreshConversations();
  }
}

/** Applies one SSE event to the answer view; true when the stream is over. */
function handleStreamEvent(event, data, answer, card = null) {
  switch (event) {
    case "meta":
      adoptConversation(data.conversationId);
      if (data.model) answer.model = data.model;
      return false;
    case "delta":
      answer.append(data.text || "");
      scrollToBottom();
      return false;
    case "progress":
      card?.setSummaryProgress(data.done, data.total);
      return false;
    case "usage":
      answer.setUsage(data);
      return false;
    case "done":
      // A summary names its new conversation only once it is stored (in `done`, not `meta`).
      adoptConversation(data.conversationId);
      answer.stopReason = data.stopReason;
      return true;
    case "error":
      throw new ApiError(null, data.code || "stream_error", data.message || "");
    default:
      return false;
  }
}

// ---------------------------------------------------------------- files

function setupDrop(zone) {
  let depth = 0;
  const hasFiles = (e) => [...(e.dataTransfer?.types || [])].includes("Files");
  zone.addEventListener("dragenter", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth++;
    ui.drop.hidden = false;
  });
  zone.addEventListener("dragover", (e) => {
    if (hasFiles(e)) e.preventDefault();
  });
  zone.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) ui.drop.hidden = true;
  });
  zone.addEventListener("drop", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    ui.drop.hidden = true;
    handleFiles([...e.dataTransfer.files]);
  });
}

function handleFiles(files) {
  const unknown = files.filter((f) => !classify(f));
  if (unknown.length) {
    toast(`${unknown.map((f) => f.name).join(", ")}: that file type is not supported. Documents: ${DOCUMENT_NAMES}. Images: ${IMAGE_NAMES}.`);
  }
  const documents = files.filter((f) => classify(f)?.purpose === "document");
  const images = files.filter((f) => classify(f)?.purpose === "image");
  if (images.length) addImages(images);
  if (documents.length > 1) toast("Documents are summarised one at a time: only the first one was taken.");
  if (documents.length) summariseDocument(documents[0]);
}

// Images: uploaded as soon as they are attached, sent with the next message.
let imageSeq = 0;

function addImages(files) {
  const room = MAX_IMAGES - state.images.length;
  if (files.length > room) toast(`You can attach up to ${MAX_IMAGES} images to one message.`);
  for (const file of files.slice(0, Math.max(room, 0))) {
    const img = { key: ++imageSeq, file, name: file.name, url: URL.createObjectURL(file), status: "uploading", progress: 0, controller: new AbortController() };
    state.images.push(img);
    uploadFile(state.api, file, {
      signal: img.controller.signal,
      onProgress: (f) => {
        img.progress = f;
        updateTrayItem(img);
      },
    })
      .then((record) => {
        img.uploadId = record.uploadId;
        img.status = "ready";
        updateTrayItem(img);
        announce(`${img.name} is ready.`);
      })
      .catch((err) => {
        if (err.name === "AbortError") return;
        img.status = "error";
        img.error = describeError(err);
        updateTrayItem(img);
        if (isSignedOut(err)) showError(err);
      });
  }
  renderTray();
  const preset = state.presets.length && !ui.input.value.trim();
  if (preset) ui.preset.focus();
}

function renderTray() {
  ui.tray.replaceChildren(...state.images.map((img) => trayItem(img)));
  ui.tray.hidden = !state.images.length;
  ui.presetRow.hidden = !state.images.length;
  if (!state.images.length) ui.preset.value = "";
  updateImageWarning();
}

function trayItem(img) {
  img.bar = h("progress", { class: "bar tiny", max: 100, value: Math.round(img.progress * 100), "aria-label": `Upload of ${img.name}` });
  img.state = h("span", { class: "tray-state" });
  img.el = h(
    "li",
    { class: "tray-item", dataset: { status: img.status } },
    h("img", { src: img.url, alt: "", onerror: (e) => e.target.replaceWith(h("span", { class: "tray-noimg", "aria-hidden": "true" }, icon("doc"))) }),
    h("div", { class: "tray-info" }, h("span", { class: "tray-name" }, img.name), img.bar, img.state),
    h("button", { type: "button", class: "icon-btn small tray-remove", "aria-label": `Remove ${img.name}`, onclick: () => removeImage(img) }, icon("close")),
  );
  updateTrayItem(img);
  return img.el;
}

function updateTrayItem(img) {
  if (!img.el) return;
  img.el.dataset.status = img.status;
  img.bar.value = Math.round(img.progress * 100);
  img.bar.hidden = img.status !== "uploading";
  img.state.textContent = img.status === "ready" ? "Ready" : img.status === "error" ? img.error : "Uploading…";
  img.state.classList.toggle("error-text", img.status === "error");
}

function removeImage(img) {
  img.controller.abort();
  URL.revokeObjectURL(img.url);
  state.images = state.images.filter((i) => i !== img);
  renderTray();
  ui.input.focus();
}

function clearImages() {
  for (const img of state.images) {
    img.controller.abort();
    URL.revokeObjectURL(img.url);
  }
  state.images = [];
  if (ui.tray) renderTray();
}

// Documents: upload, wait for the check, then stream the summary into this conversation.
async function summariseDocument(file) {
  if (state.busy) {
    toast("Wait until the current answer has finished, then attach the document again.");
    return;
  }
  const controller = new AbortController();
  setBusy({ controller, kind: "document" });
  const card = new DocumentCard(file);
  appendView(card.el);
  announce(`Uploading ${file.name}.`);
  let answer = null;
  try {
    const record = await uploadFile(state.api, file, {
      signal: controller.signal,
      onProgress: (f) => card.setUploadProgress(f),
      onStage: (s) => card.setStage(s),
    });
    card.setUploadProgress(1);
    card.setStage("summarising");
    announce(`${file.name} uploaded. Summarising.`);
    answer = new AnswerView();
    answer.startStreaming();
    appendView(answer.el);
    const body = state.current.id ? { conversationId: state.current.id } : {};
    for await (const { event, data } of state.api.stream(`/documents/${encodeURIComponent(record.uploadId)}/summary`, body, controller.signal)) {
      if (handleStreamEvent(event, data, answer, card)) break;
    }
    answer.finish({ stopReason: answer.stopReason });
    card.setStage("done");
    announce("Summary ready.");
  } catch (err) {
    const stopped = err.name === "AbortError";
    const message = stopped ? "Stopped." : describeError(err);
    card.fail(message);
    if (answer) answer.finish(stopped ? { stopped: true } : { error: message });
    if (isSignedOut(err)) showError(err);
    announce(stopped ? "Stopped." : `The document could not be summarised. ${message}`);
  } finally {
    setBusy(null);
    ui.input.focus();
    refreshConversations();
  }
}

// ---------------------------------------------------------------- code copy buttons

async function onMessagesClick(e) {
  const button = e.target.closest(".code-copy");
  if (!button) return;
  const code = button.closest(".code-block")?.querySelector("code");
  if (!code) return;
  const ok = await copyText(code.textContent);
  button.textContent = ok ? "Copied" : "Copy failed";
  setTimeout(() => (button.textContent = "Copy code"), 1500);
}

boot();
