// Model output: markdown -> HTML (marked) -> sanitised (DOMPurify) before it touches the DOM.
// Raw HTML in the markdown is escaped, so `<img onerror=...>` or `<script>` shows as text;
// DOMPurify then removes anything that still slipped through. Markdown images become links:
// an image URL chosen by the model would be fetched silently (a data-exfiltration channel).
import DOMPurify from "dompurify";
import hljs from "highlight.js/lib/common";
import { Marked } from "marked";

export function escapeHtml(text) {
  return String(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

const SAFE_URL = /^(https?:|mailto:|#)/i;

const marked = new Marked({
  gfm: true,
  // Models put single line breaks where they mean them (lists of lines, addresses, verse).
  breaks: true,
  renderer: {
    html({ text }) {
      return escapeHtml(text);
    },
    image({ href, text }) {
      const label = escapeHtml(text || href || "image");
      return SAFE_URL.test(href || "") ? `<a href="${escapeHtml(href)}">${label}</a>` : label;
    },
    code({ text, lang }) {
      const language = (lang || "").trim().split(/\s+/)[0].toLowerCase();
      const { html, shown } = highlighted(text, language);
      const label = shown ? `<span class="code-lang">${escapeHtml(shown)}</span>` : "";
      return `<div class="code-block"><div class="code-head">${label}<button type="button" class="code-copy">Copy code</button></div><pre><code class="hljs">${html}</code></pre></div>`;
    },
  },
});

// A streamed answer is re-parsed every frame, and its finished code blocks come back unchanged
// each time: their highlighting (highlightAuto tries every common language) is kept, least
// recently used out first, so the earlier prefixes of the block still growing age out.
const HIGHLIGHT_CACHE_SIZE = 32;
const highlightCache = new Map();

function highlighted(text, language) {
  const key = `${language}\n${text}`;
  let result = highlightCache.get(key);
  if (result) {
    highlightCache.delete(key);
  } else {
    result = highlight(text, language);
    if (highlightCache.size >= HIGHLIGHT_CACHE_SIZE) highlightCache.delete(highlightCache.keys().next().value);
  }
  highlightCache.set(key, result);
  return result;
}

function highlight(text, language) {
  if (language && hljs.getLanguage(language)) {
    return { html: hljs.highlight(text, { language, ignoreIllegals: true }).value, shown: language };
  }
  if (text.length < 20_000) {
    const auto = hljs.highlightAuto(text);
    return { html: auto.value, shown: language || auto.language || "" };
  }
  return { html: escapeHtml(text), shown: language };
}

const PURIFY = {
  USE_PROFILES: { html: true },
  FORBID_TAGS: ["img", "style", "form", "input", "textarea", "select", "iframe", "svg", "math", "video", "audio"],
  FORBID_ATTR: ["style", "srcset"],
  ALLOW_DATA_ATTR: false,
};

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") {
    const href = node.getAttribute("href") || "";
    if (!SAFE_URL.test(href)) node.removeAttribute("href");
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer nofollow");
  }
});

/** Sanitised HTML for a (possibly half-streamed) markdown answer. */
export function renderMarkdown(markdown) {
  const html = marked.parse(markdown || "", { async: false });
  return DOMPurify.sanitize(html, PURIFY);
}
