// Headless: images attached to the next message. They upload as soon as they are attached.
// Records are plain data (no DOM nodes): {key, name, url, uploadId, status, progress, error},
// status "uploading" | "ready" | "error"; `url` is an object URL for the preview.
// Store key: attachments.
import { describeError, isSignedOut } from "./api.js";
import { t } from "./i18n.js";

export const MAX_IMAGES = 10;

export class Attachments {
  /**
   * @param {{api: import("./api.js").Api, store: ReturnType<import("./store.js").createStore>,
   *          upload: typeof import("./uploads.js").uploadFile,
   *          notify?: (kind: "error" | "announce", value: unknown) => void}} deps
   */
  constructor({ api, store, upload, notify = () => {} }) {
    this.api = api;
    this.store = store;
    this.upload = upload;
    this.notify = notify;
    this.controllers = new Map();
    this.seq = 0;
  }

  get items() {
    return this.store.get().attachments;
  }

  add(files) {
    const room = MAX_IMAGES - this.items.length;
    if (files.length > room) this.notify("error", new Error(t("image.tooMany", { max: MAX_IMAGES })));
    for (const file of files.slice(0, Math.max(room, 0))) {
      const item = { key: ++this.seq, name: file.name, url: URL.createObjectURL(file), uploadId: null, status: "uploading", progress: 0, error: "" };
      const controller = new AbortController();
      this.controllers.set(item.key, controller);
      this.store.set((s) => ({ attachments: [...s.attachments, item] }));
      this.upload(this.api, file, { signal: controller.signal, onProgress: (progress) => this.#patch(item.key, { progress }) })
        .then((record) => {
          this.#patch(item.key, { uploadId: record.uploadId, status: "ready", progress: 1 });
          this.notify("announce", t("image.ready", { name: item.name }));
        })
        .catch((err) => {
          if (err.name === "AbortError") return;
          this.#patch(item.key, { status: "error", error: describeError(err) });
          if (isSignedOut(err)) this.notify("error", err);
        });
    }
  }

  /** Cancels its upload and drops it; `keepUrl` when a sent message still shows the preview. */
  remove(key, { keepUrl = false } = {}) {
    const item = this.items.find((i) => i.key === key);
    if (!item) return;
    this.controllers.get(key)?.abort();
    this.controllers.delete(key);
    if (!keepUrl) URL.revokeObjectURL(item.url);
    this.store.set((s) => ({ attachments: s.attachments.filter((i) => i.key !== key) }));
  }

  /** Empties the tray; sent images keep their object URL (the message shows them). */
  clear({ sent = false } = {}) {
    for (const item of this.items) this.remove(item.key, { keepUrl: sent });
  }

  /** Puts back images whose message was refused, so the person can send again. */
  restore(items) {
    this.store.set((s) => ({ attachments: [...items, ...s.attachments] }));
  }

  /** null when everything is ready to send, else the reason (a sentence). */
  blocker() {
    if (this.items.some((i) => i.status === "error")) return t("image.removeFailed");
    if (this.items.some((i) => i.status !== "ready")) return t("image.stillUploading");
    return null;
  }

  #patch(key, change) {
    this.store.set((s) => ({ attachments: s.attachments.map((i) => (i.key === key ? { ...i, ...change } : i)) }));
  }
}
