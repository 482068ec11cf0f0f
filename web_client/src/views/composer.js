// The composer: message box, attached images (tray), image-task presets, send and stop, and the
// file paths in (picker, drop, paste). It renders from the store and hands work to the session.
import { h, icon } from "../dom.js";
import { ACCEPT, DOCUMENT_NAMES, IMAGE_NAMES, classify } from "../filetypes.js";
import { t } from "../i18n.js";

export class Composer {
  /**
   * @param {{session: import("../session.js").ChatSession, attachments: import("../attachments.js").Attachments,
   *          toast: (message: string) => void}} deps
   */
  constructor({ session, attachments, toast }) {
    this.session = session;
    this.attachments = attachments;
    this.toast = toast;
    this.file = h("input", {
      type: "file", id: "file-input", class: "sr-only", multiple: true, accept: ACCEPT, tabindex: "-1", "aria-label": t("composer.chooseFiles"),
      onchange: () => {
        this.handleFiles([...this.file.files]);
        this.file.value = "";
      },
    });
    this.tray = h("ul", { class: "tray", "aria-label": t("tray.label"), hidden: true });
    this.preset = h("select", { id: "preset-select", onchange: () => this.onPreset() });
    this.imageWarning = h("span", { class: "preset-warning", hidden: true }, t("tray.modelWarning"));
    this.presetRow = h("div", { class: "preset-row", hidden: true }, h("label", { for: "preset-select" }, t("tray.preset")), this.preset, this.imageWarning);
    this.input = h("textarea", {
      id: "composer-input", rows: 1, placeholder: t("composer.placeholder"), "aria-describedby": "composer-hint",
      onkeydown: (e) => {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
          e.preventDefault();
          this.send();
        }
      },
      oninput: () => this.autoGrow(),
    });
    // Pasting a screenshot attaches it, like picking or dropping a file.
    this.input.addEventListener("paste", (e) => {
      const files = [...(e.clipboardData?.files || [])];
      if (!files.length) return;
      e.preventDefault();
      this.handleFiles(files);
    });
    this.sendButton = h("button", { type: "submit", class: "send-btn", "aria-label": t("composer.send"), title: t("composer.sendTitle") }, icon("send"));
    this.stopButton = h("button", { type: "button", class: "stop-btn", hidden: true, onclick: () => session.stop() }, icon("stop"), h("span", {}, t("composer.stop")));
    this.promptsButton = h("button", { type: "button", class: "icon-btn prompts-btn", "aria-label": t("prompts.open"), title: t("prompts.open"), onclick: () => this.onPrompts?.() }, icon("bookmark"));
    this.attach = h("button", { type: "button", class: "icon-btn attach", "aria-label": t("composer.attach"), title: t("composer.attach"), onclick: () => this.file.click() }, icon("clip"));
    this.el = h(
      "form",
      { class: "composer", "aria-label": t("composer.label"), onsubmit: (e) => { e.preventDefault(); this.send(); } },
      this.tray,
      this.presetRow,
      h("div", { class: "composer-box" }, this.attach, this.promptsButton, this.file, h("label", { for: "composer-input", class: "sr-only" }, t("composer.message")), this.input, this.sendButton, this.stopButton),
      h("p", { id: "composer-hint", class: "hint" }, t("composer.hint")),
    );
    this.drop = h("div", { class: "drop-overlay", hidden: true, "aria-hidden": "true" }, h("div", {}, icon("clip"), t("composer.drop")));
    this.trayItems = new Map(); // attachment key -> {item, el}
  }

  /** Puts a saved prompt's text into the message box (after what is there), ready to edit. */
  insertText(text) {
    const current = this.input.value.trimEnd();
    this.input.value = current ? `${current}\n\n${text}` : text;
    this.autoGrow();
    this.input.focus();
  }

  render({ busy, attachments, presets, models, defaultModel, conversation }) {
    this.sendButton.hidden = Boolean(busy);
    this.sendButton.disabled = Boolean(busy);
    this.stopButton.hidden = !busy;
    this.attach.disabled = Boolean(busy);
    this.el.classList.toggle("busy", Boolean(busy));
    if (presets !== this.presets) {
      this.presets = presets;
      this.preset.replaceChildren(h("option", { value: "" }, t("tray.noPreset")), ...presets.map((p) => h("option", { value: p.name }, p.label || p.name)));
    }
    this.renderTray(attachments);
    this.presetRow.hidden = !attachments.length;
    if (!attachments.length) this.preset.value = "";
    const model = models.find((m) => m.id === (conversation.model || defaultModel));
    const modalities = (model?.inputModalities || []).map((m) => String(m).toUpperCase());
    this.imageWarning.hidden = !attachments.length || !model || !modalities.length || modalities.includes("IMAGE");
  }

  renderTray(items) {
    const next = new Map();
    const els = items.map((item) => {
      let entry = this.trayItems.get(item.key);
      if (!entry) entry = this.trayItem(item);
      entry.update(item);
      next.set(item.key, entry);
      return entry.el;
    });
    this.trayItems = next;
    const current = [...this.tray.children];
    if (current.length !== els.length || current.some((el, i) => el !== els[i])) this.tray.replaceChildren(...els);
    this.tray.hidden = !items.length;
  }

  trayItem(item) {
    const bar = h("progress", { class: "bar tiny", max: 100, value: 0, "aria-label": t("tray.uploadOf", { name: item.name }) });
    const state = h("span", { class: "tray-state" });
    const el = h(
      "li",
      { class: "tray-item" },
      h("img", { src: item.url, alt: "", onerror: (e) => e.target.replaceWith(h("span", { class: "tray-noimg", "aria-hidden": "true" }, icon("doc"))) }),
      h("div", { class: "tray-info" }, h("span", { class: "tray-name" }, item.name), bar, state),
      h("button", { type: "button", class: "icon-btn small tray-remove", "aria-label": t("tray.remove", { name: item.name }), onclick: () => {
        this.attachments.remove(item.key);
        this.input.focus();
      } }, icon("close")),
    );
    return {
      el,
      update: (i) => {
        el.dataset.status = i.status;
        bar.value = Math.round(i.progress * 100);
        bar.hidden = i.status !== "uploading";
        state.textContent = i.status === "ready" ? t("tray.ready") : i.status === "error" ? i.error : t("tray.uploading");
        state.classList.toggle("error-text", i.status === "error");
      },
    };
  }

  onPreset() {
    const preset = this.presets.find((p) => p.name === this.preset.value);
    if (!preset) return;
    this.input.value = preset.prompt;
    this.autoGrow();
    this.input.focus();
  }

  autoGrow() {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, 240)}px`;
  }

  /** Sends the box's text and the ready images; gives both back when nothing was stored. */
  async send(text = this.input.value) {
    if (this.session.busy) return;
    const images = this.attachments.items;
    if (!text.trim() && !images.length) return;
    const blocker = this.attachments.blocker();
    if (blocker) {
      this.toast(blocker);
      return;
    }
    const preset = this.preset.value || undefined;
    this.input.value = "";
    this.autoGrow();
    this.attachments.clear({ sent: true });
    const outcome = await this.session.send({ text, images, preset });
    if (!outcome.accepted) {
      this.input.value = text;
      this.autoGrow();
      this.attachments.restore(images);
    }
    this.input.focus();
  }

  handleFiles(files) {
    const unknown = files.filter((f) => !classify(f));
    if (unknown.length) this.toast(t("files.unsupported", { names: unknown.map((f) => f.name).join(", "), documents: DOCUMENT_NAMES, images: IMAGE_NAMES }));
    const documents = files.filter((f) => classify(f)?.purpose === "document");
    const images = files.filter((f) => classify(f)?.purpose === "image");
    if (images.length) {
      this.attachments.add(images);
      if (this.presets?.length && !this.input.value.trim()) queueMicrotask(() => this.preset.focus());
    }
    if (documents.length > 1) this.toast(t("files.oneDocument"));
    if (documents.length) this.session.summariseDocument(documents[0]);
  }

  /** Dropping files anywhere on `zone` attaches them. */
  acceptDrops(zone) {
    let depth = 0;
    const hasFiles = (e) => [...(e.dataTransfer?.types || [])].includes("Files");
    zone.addEventListener("dragenter", (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth++;
      this.drop.hidden = false;
    });
    zone.addEventListener("dragover", (e) => {
      if (hasFiles(e)) e.preventDefault();
    });
    zone.addEventListener("dragleave", () => {
      depth = Math.max(0, depth - 1);
      if (!depth) this.drop.hidden = true;
    });
    zone.addEventListener("drop", (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth = 0;
      this.drop.hidden = true;
      this.handleFiles([...e.dataTransfer.files]);
    });
  }
}
