// Message views, each rendered from one message of the session (session.js documents the shape):
// user text, a streamed answer (sanitised markdown, math, diagrams), a document card.
import { drawDiagrams } from "../diagrams.js";
import { formatCost } from "../cost.js";
import { copyText, h, icon } from "../dom.js";
import { formatBytes } from "../filetypes.js";
import { t } from "../i18n.js";
import { renderMarkdown } from "../markdown.js";

/** The message a person sent (text only ever set as text), with "Edit message" once it is stored. */
export class UserView {
  /** @param {{onEdit?: (key: string, text: string) => void}} actions */
  constructor(msg, { onEdit } = {}) {
    this.onEdit = onEdit;
    this.editButton = h("button", { type: "button", class: "icon-btn small edit-message", "aria-label": t("msg.edit"), title: t("msg.edit"), hidden: true, onclick: () => this.startEdit() }, icon("pencil"));
    this.bubble = h("div", { class: "bubble" });
    this.el = h("article", { class: "msg user", "aria-label": t("msg.you") }, this.editButton, this.bubble);
    this.update(msg);
  }

  update(msg) {
    this.msg = msg;
    const images = msg.images || [];
    const attachments = msg.attachments || [];
    // A stored image opens full size (its presigned URL) in a new tab; one just sent is a local preview.
    const thumb = (img) => h("img", { src: img.url, alt: img.name, class: "thumb" });
    const gallery = images.length
      ? h("div", { class: "msg-images" }, images.map((img) => (img.uploadId ? h("a", { href: img.url, target: "_blank", rel: "noopener noreferrer", class: "thumb-link", "aria-label": t("image.viewFull", { name: img.name || t("image.untitled") }) }, thumb(img)) : thumb(img))))
      : null;
    const others = !images.length && attachments.length ? h("p", { class: "msg-attachments" }, icon("clip"), attachmentLabel(attachments)) : null;
    if (!this.editing) this.bubble.replaceChildren(...[gallery, others, msg.content ? h("p", { class: "user-text" }, msg.content) : null].filter(Boolean));
    // Only a stored message can be edited (the server sends its images again with the new text).
    this.editButton.hidden = !this.onEdit || !msg.id || !msg.content;
  }

  startEdit() {
    this.editing = true;
    const box = h("textarea", { class: "edit-input", rows: 3, "aria-label": t("msg.editLabel") });
    box.value = this.msg.content;
    const done = (send) => {
      this.editing = false;
      const text = box.value.trim();
      this.update(this.msg);
      if (send && text && text !== this.msg.content) this.onEdit(this.msg.key, text);
      else this.editButton.focus();
    };
    box.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        done(true);
      } else if (e.key === "Escape") {
        e.stopPropagation();
        done(false);
      }
    });
    this.bubble.replaceChildren(
      box,
      h(
        "div",
        { class: "edit-actions" },
        h("button", { type: "button", class: "btn ghost small", onclick: () => done(false) }, t("confirm.cancel")),
        h("button", { type: "button", class: "btn primary small", onclick: () => done(true) }, t("msg.editSend")),
      ),
    );
    this.editButton.hidden = true;
    box.focus();
  }
}

function attachmentLabel(attachments) {
  const names = attachments.map((a) => (typeof a === "object" && a ? a.filename || a.name : "")).filter(Boolean);
  if (names.length) return names.join(", ");
  return t("msg.attachments", { count: attachments.length });
}

/** An assistant answer; `update(msg)` follows it while it streams. */
export class AnswerView {
  /**
   * @param {object} msg an assistant message
   * @param {{onContinue?: () => void, onRender?: () => void, onRegenerate?: (key: string) => void,
   *          onVersion?: (key: string, index: number) => void, onRate?: (key: string, rating: string, reason?: string) => void}} hooks
   */
  constructor(msg, { onContinue, onRender, onRegenerate, onVersion, onRate } = {}) {
    this.onRender = onRender;
    const key = () => this.msg.key;
    this.regenerateButton = h("button", { type: "button", class: "icon-btn small", "aria-label": t("answer.regenerate"), title: t("answer.regenerate"), hidden: true, onclick: () => onRegenerate?.(key()) }, icon("retry"));
    this.goodButton = h("button", { type: "button", class: "icon-btn small rate", "aria-label": t("answer.good"), title: t("answer.good"), "aria-pressed": "false", onclick: () => onRate?.(key(), "up") }, icon("up"));
    this.badButton = h("button", { type: "button", class: "icon-btn small rate", "aria-label": t("answer.bad"), title: t("answer.bad"), "aria-pressed": "false", onclick: () => {
      onRate?.(key(), "down");
      this.reasonRow.hidden = false;
      this.reason.focus();
    } }, icon("down"));
    this.reason = h("input", { type: "text", class: "reason-input", maxlength: 500, "aria-label": t("answer.reason"), placeholder: t("answer.reasonPlaceholder") });
    this.reasonRow = h(
      "form",
      { class: "reason-row", hidden: true, onsubmit: (e) => {
        e.preventDefault();
        onRate?.(key(), "down", this.reason.value);
        this.reasonRow.hidden = true;
      } },
      this.reason,
      h("button", { type: "submit", class: "btn ghost small" }, t("answer.reasonSend")),
    );
    this.versionLabel = h("span", { class: "version-label" });
    this.versions = h(
      "span",
      { class: "versions", hidden: true },
      h("button", { type: "button", class: "icon-btn small", "aria-label": t("answer.previous"), onclick: () => onVersion?.(key(), this.msg.version - 1) }, icon("left")),
      this.versionLabel,
      h("button", { type: "button", class: "icon-btn small", "aria-label": t("answer.next"), onclick: () => onVersion?.(key(), this.msg.version + 1) }, icon("right")),
    );
    this.msg = null;
    this.text = "";
    this.content = h("div", { class: "markdown" });
    this.steps = h("div", { class: "tool-steps", hidden: true });
    this.notices = h("ul", { class: "answer-notices", hidden: true });
    this.stepsShown = "";
    this.usage = h("span", { class: "usage" });
    this.note = h("p", { class: "answer-note", hidden: true });
    this.continueButton = h("button", { type: "button", class: "btn ghost small continue", hidden: true, onclick: () => onContinue?.() }, t("answer.continue"));
    this.copyButton = h(
      "button",
      { type: "button", class: "icon-btn small copy-answer", "aria-label": t("answer.copy"), title: t("answer.copy"), onclick: () => this.copy() },
      icon("copy"),
    );
    this.foot = h("div", { class: "msg-foot" }, this.versions, this.usage, this.continueButton, this.goodButton, this.badButton, this.regenerateButton, this.copyButton);
    this.el = h(
      "article",
      { class: "msg assistant", "aria-label": t("msg.assistant") },
      h("div", { class: "avatar", "aria-hidden": "true" }, "AI"),
      h("div", { class: "answer" }, this.notices, this.steps, this.content, this.note, this.foot, this.reasonRow),
    );
    this.update(msg);
  }

  update(msg, { last = true } = {}) {
    const previous = this.msg;
    this.msg = msg;
    const streaming = msg.status === "streaming";
    this.el.classList.toggle("streaming", streaming);
    if (streaming) this.el.setAttribute("aria-busy", "true");
    else this.el.removeAttribute("aria-busy");
    this.foot.hidden = streaming;
    if (msg.content !== this.text) {
      this.text = msg.content;
      if (streaming) this.scheduleRender();
      else this.renderNow();
    } else if (previous?.status === "streaming" && !streaming) {
      this.renderNow();
    }
    if (!streaming && this.content.querySelector(".diagram:not(.drawn):not(.failed)")) drawDiagrams(this.content).then(() => this.onRender?.());
    this.setSteps(msg.steps || [], msg.notices || []);
    this.setUsage(msg.usage, msg.model, msg.usage?.costUsd ?? msg.costUsd);
    this.copyButton.hidden = !this.text;
    // Continue only makes sense on the newest answer, when the length limit cut it.
    this.continueButton.hidden = streaming || !last || msg.stopReason !== "max_tokens" || msg.status !== "complete";
    this.setNote(...noteFor(msg));
    // Actions on a stored answer: feedback on any, regenerate on the newest.
    const stored = Boolean(msg.id) && !streaming;
    this.goodButton.hidden = this.badButton.hidden = !stored;
    this.goodButton.setAttribute("aria-pressed", String(msg.feedback?.rating === "up"));
    this.badButton.setAttribute("aria-pressed", String(msg.feedback?.rating === "down"));
    this.regenerateButton.hidden = !stored || !last;
    const count = msg.versions?.length || 0;
    this.versions.hidden = count < 2;
    if (count >= 2) {
      const [previous, next] = this.versions.querySelectorAll("button");
      previous.disabled = streaming || msg.version <= 0;
      next.disabled = streaming || msg.version >= count - 1;
      this.versionLabel.textContent = t("answer.version", { n: Math.min(msg.version, count - 1) + 1, total: count });
    }
  }

  scheduleRender() {
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
    this.onRender?.();
  }

  /** Tool steps as compact expandable rows ("Used current_time — Asia/Tokyo → Mon 30 Nov, 06:12"). */
  setSteps(steps, notices) {
    const shown = JSON.stringify([steps, notices]);
    if (shown === this.stepsShown) return;
    this.stepsShown = shown;
    this.notices.replaceChildren(...notices.map((text) => h("li", {}, text)));
    this.notices.hidden = !notices.length;
    this.steps.replaceChildren(...steps.map(toolStepView));
    this.steps.hidden = !steps.length;
  }

  setUsage(usage, model, cost = null) {
    const parts = [];
    if (usage?.inputTokens != null) parts.push(t("usage.in", { n: usage.inputTokens }));
    if (usage?.outputTokens != null) parts.push(t("usage.out", { n: usage.outputTokens }));
    if (cost != null) parts.push(formatCost(cost));
    this.usage.textContent = parts.length ? t("usage.tokens", { parts: parts.join(" · ") }) : "";
    this.usage.title = model ? t("usage.model", { model }) : "";
  }

  setNote(text, kind) {
    this.note.textContent = text;
    this.note.className = `answer-note ${kind}`;
    this.note.hidden = !text;
  }

  async copy() {
    const ok = await copyText(this.text);
    this.copyButton.replaceChildren(icon(ok ? "check" : "copy"));
    this.copyButton.setAttribute("aria-label", ok ? t("answer.copied") : t("answer.copyFailed"));
    setTimeout(() => {
      this.copyButton.replaceChildren(icon("copy"));
      this.copyButton.setAttribute("aria-label", t("answer.copy"));
    }, 1500);
  }
}

const STEP_LABELS = { running: "tools.running", success: "tools.used", error: "tools.failed", stopped: "tools.stopped" };

/** The input in a few words: its values, the way a person would say them ("Asia/Tokyo"). */
function inputSummary(input) {
  const values = Object.values(input || {}).map((v) => (typeof v === "string" ? v : JSON.stringify(v)));
  const text = values.join(", ");
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

/** One tool step: a <details> whose summary reads as a sentence; input and output inside. */
function toolStepView(step) {
  const label = t(STEP_LABELS[step.status] || "tools.used", { name: step.name });
  const args = inputSummary(step.input);
  const result = step.status === "running" ? "" : (step.preview || "").replace(/\s+/g, " ").slice(0, 120);
  const summary = [label, args && ` — ${args}`, result && ` → ${result}`].filter(Boolean).join("");
  return h(
    "details",
    { class: `tool-step ${step.status}` },
    h("summary", {}, summary),
    h("div", { class: "tool-step-body" },
      h("div", { class: "tool-step-label" }, t("tools.input")),
      h("pre", {}, JSON.stringify(step.input || {}, null, 2)),
      h("div", { class: "tool-step-label" }, t("tools.output")),
      h("pre", {}, step.output || step.preview || "")),
  );
}

const STOP_NOTES = { max_tokens: "stop.maxTokens", content_filtered: "stop.filtered", guardrail_intervened: "stop.guardrail" };

/** [text, kind] of the note under an answer ("" when none applies). */
function noteFor(msg) {
  if (msg.status === "streaming") return ["", "info"];
  if (msg.error) return [msg.error, "error"];
  if (msg.status === "stopped") return [t(msg.stored ? "answer.stoppedStored" : "answer.stopped"), "info"];
  if (msg.status === "incomplete") return [t("answer.incomplete"), "warn"];
  if (STOP_NOTES[msg.stopReason]) return [t(STOP_NOTES[msg.stopReason]), "warn"];
  if (!msg.content) return [t("answer.empty"), "info"];
  return ["", "info"];
}

/** A document being uploaded and summarised: two progress bars, then the summary below it. */
export class DocumentCard {
  constructor(msg) {
    this.stage = h("span", { class: "doc-stage" });
    this.uploadBar = h("progress", { class: "bar", max: 100, value: 0, "aria-label": t("doc.uploadOf", { name: msg.name }) });
    this.summaryBar = h("progress", { class: "bar", max: 1, "aria-label": t("doc.summaryOf", { name: msg.name }) });
    this.summaryRow = h("div", { class: "doc-row", hidden: true }, h("span", { class: "doc-row-label" }, t("doc.summary")), this.summaryBar);
    this.el = h(
      "article",
      { class: "msg doc", "aria-label": t("doc.label", { name: msg.name }) },
      h(
        "div",
        { class: "doc-card" },
        h("div", { class: "doc-icon", "aria-hidden": "true" }, icon("doc")),
        h(
          "div",
          { class: "doc-body" },
          h("div", { class: "doc-name" }, msg.name, h("span", { class: "doc-size" }, formatBytes(msg.size))),
          h("div", { class: "doc-row" }, h("span", { class: "doc-row-label" }, t("doc.upload")), this.uploadBar),
          this.summaryRow,
          this.stage,
        ),
      ),
    );
    this.update(msg);
  }

  update(msg) {
    this.el.dataset.stage = msg.stage;
    this.uploadBar.value = Math.round((msg.upload || 0) * 100);
    const summarising = ["summarising", "done"].includes(msg.stage) || msg.total != null;
    this.summaryRow.hidden = !summarising;
    if (msg.total != null) {
      this.summaryBar.max = Math.max(msg.total, 1);
      this.summaryBar.value = Math.min(msg.done ?? 0, msg.total);
    } else if (msg.stage === "done") {
      this.summaryBar.value = this.summaryBar.max;
    }
    const failed = msg.stage === "failed";
    this.stage.classList.toggle("error-text", failed);
    if (failed) this.stage.textContent = msg.error;
    else if (msg.stage === "summarising" && msg.total != null) this.stage.textContent = t("doc.part", { done: Math.min(msg.done ?? 0, msg.total), total: msg.total });
    else this.stage.textContent = t(`doc.stage.${msg.stage}`);
  }
}
