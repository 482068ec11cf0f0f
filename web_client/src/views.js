// Message views: user messages (plain text), answers (sanitised markdown, streamed), document cards.
import { copyText, h, icon } from "./dom.js";
import { formatBytes } from "./filetypes.js";
import { renderMarkdown } from "./markdown.js";

const STOP_NOTES = {
  max_tokens: "The answer reached the length limit and was cut off.",
  content_filtered: "The answer was blocked by a content filter.",
  guardrail_intervened: "The answer was blocked by a guardrail.",
};

export function userMessage(text, images = [], attachments = []) {
  const gallery = images.length
    ? h(
        "div",
        { class: "msg-images" },
        images.map((img) => h("img", { src: img.url, alt: img.name, class: "thumb" })),
      )
    : null;
  const others = !images.length && attachments.length
    ? h("p", { class: "msg-attachments" }, icon("clip"), attachmentLabel(attachments))
    : null;
  return h(
    "article",
    { class: "msg user", "aria-label": "You" },
    h("div", { class: "bubble" }, gallery, others, text ? h("p", { class: "user-text" }, text) : null),
  );
}

function attachmentLabel(attachments) {
  const names = attachments.map((a) => (typeof a === "object" && a ? a.filename || a.name : "")).filter(Boolean);
  if (names.length) return names.join(", ");
  return attachments.length === 1 ? "1 attachment" : `${attachments.length} attachments`;
}

/** An assistant answer that can grow while streaming. */
export class AnswerView {
  constructor({ text = "", usage = null, status = "complete", model = "" } = {}) {
    this.text = text;
    this.content = h("div", { class: "markdown" });
    this.usage = h("span", { class: "usage" });
    this.note = h("p", { class: "answer-note", hidden: true });
    this.copyButton = h(
      "button",
      { type: "button", class: "icon-btn small copy-answer", "aria-label": "Copy answer", title: "Copy answer", onclick: () => this.copy() },
      icon("copy"),
    );
    this.foot = h("div", { class: "msg-foot" }, this.usage, this.copyButton);
    this.el = h(
      "article",
      { class: "msg assistant", "aria-label": "Assistant" },
      h("div", { class: "avatar", "aria-hidden": "true" }, "AI"),
      h("div", { class: "answer" }, this.content, this.note, this.foot),
    );
    this.model = model;
    this.renderNow();
    if (usage) this.setUsage(usage);
    if (status === "stopped") this.setNote("Stopped before the end.", "info");
    if (status === "incomplete") this.setNote("This answer is incomplete: the stream failed.", "warn");
  }

  startStreaming() {
    this.el.classList.add("streaming");
    this.el.setAttribute("aria-busy", "true");
    this.foot.hidden = true;
  }

  append(text) {
    this.text += text;
    if (this.frame) return;
    // Re-render at most once per frame: markdown must be re-parsed as a whole (fences close late).
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.renderNow();
    });
  }

  renderNow() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.content.innerHTML = renderMarkdown(this.text);
  }

  setUsage(usage) {
    if (!usage) return;
    const parts = [];
    if (usage.inputTokens != null) parts.push(`${usage.inputTokens} in`);
    if (usage.outputTokens != null) parts.push(`${usage.outputTokens} out`);
    this.usage.textContent = parts.length ? `Tokens: ${parts.join(" · ")}` : "";
    this.usage.title = this.model ? `Model: ${this.model}` : "";
  }

  setNote(text, kind = "info") {
    this.note.textContent = text;
    this.note.className = `answer-note ${kind}`;
    this.note.hidden = false;
  }

  /** End of stream: final render, and the reason it stopped when that is worth saying. */
  finish({ stopReason, stopped = false, error = "" } = {}) {
    this.renderNow();
    this.el.classList.remove("streaming");
    this.el.removeAttribute("aria-busy");
    this.foot.hidden = false;
    this.copyButton.hidden = !this.text;
    if (error) this.setNote(error, "error");
    else if (stopped) this.setNote("Stopped.", "info");
    else if (STOP_NOTES[stopReason]) this.setNote(STOP_NOTES[stopReason], "warn");
    if (!this.text && !error && !stopped) this.setNote("The model returned an empty answer.", "info");
  }

  async copy() {
    const ok = await copyText(this.text);
    this.copyButton.replaceChildren(icon(ok ? "check" : "copy"));
    this.copyButton.setAttribute("aria-label", ok ? "Copied" : "Copy failed");
    setTimeout(() => {
      this.copyButton.replaceChildren(icon("copy"));
      this.copyButton.setAttribute("aria-label", "Copy answer");
    }, 1500);
  }
}

/** A document being uploaded and summarised: two progress bars, then the summary below it. */
export class DocumentCard {
  constructor(file) {
    this.stage = h("span", { class: "doc-stage" }, "Preparing upload…");
    this.uploadBar = h("progress", { class: "bar", max: 100, value: 0, "aria-label": `Upload of ${file.name}` });
    this.summaryBar = h("progress", { class: "bar", max: 1, "aria-label": `Summary of ${file.name}` });
    this.summaryRow = h("div", { class: "doc-row", hidden: true }, h("span", { class: "doc-row-label" }, "Summary"), this.summaryBar);
    this.el = h(
      "article",
      { class: "msg doc", "aria-label": `Document ${file.name}` },
      h(
        "div",
        { class: "doc-card" },
        h("div", { class: "doc-icon", "aria-hidden": "true" }, icon("doc")),
        h(
          "div",
          { class: "doc-body" },
          h("div", { class: "doc-name" }, file.name, h("span", { class: "doc-size" }, formatBytes(file.size))),
          h("div", { class: "doc-row" }, h("span", { class: "doc-row-label" }, "Upload"), this.uploadBar),
          this.summaryRow,
          this.stage,
        ),
      ),
    );
  }

  setStage(stage) {
    const labels = {
      preparing: "Preparing upload…",
      uploading: "Uploading…",
      checking: "Checking the file…",
      summarising: "Reading and summarising…",
      done: "Summary ready. Ask a follow-up question below.",
    };
    this.stage.textContent = labels[stage] || stage;
    if (stage === "done" && this.summaryBar.hasAttribute("value")) this.summaryBar.value = this.summaryBar.max;
    this.el.dataset.stage = stage;
    if (stage === "summarising") this.summaryRow.hidden = false;
  }

  setUploadProgress(fraction) {
    this.uploadBar.value = Math.round(fraction * 100);
  }

  setSummaryProgress(done, total) {
    this.summaryRow.hidden = false;
    this.summaryBar.max = Math.max(total, 1);
    this.summaryBar.value = Math.min(done, total);
    this.stage.textContent = `Summarising: part ${Math.min(done, total)} of ${total}`;
  }

  fail(message) {
    this.el.dataset.stage = "failed";
    this.stage.textContent = message;
    this.stage.classList.add("error-text");
  }
}
