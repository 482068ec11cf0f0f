// Model output: markdown -> HTML (marked) -> sanitised (DOMPurify) before it touches the DOM.
// Raw HTML in the markdown is escaped, so `<img onerror=...>` or `<script>` shows as text;
// DOMPurify then removes anything that still slipped through. Markdown images become links:
// an image URL chosen by the model would be fetched silently (a data-exfiltration channel).
// Math ($…$, $$…$$) is rendered by KaTeX as MathML (no inline styles, so the strict CSP holds;
// `trust: false` keeps \href, \url and \html* inert). ```mermaid blocks are left as source in a
// `.diagram` box; diagrams.js draws them later (lazily loaded, securityLevel strict).
import DOMPurify from "dompurify";
import hljs from "highlight.js/lib/common";
import { Marked } from "marked";
import markedKatex from "marked-katex-extension";
import { t } from "./i18n.js";

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
      if (language === "mermaid") {
        return `<div class="diagram" role="img" aria-label="${escapeHtml(t("diagram.label"))}"><pre class="diagram-source"><code>${escapeHtml(text)}</code></pre></div>`;
      }
      const { html, shown } = highlighted(text, language);
      const label = shown ? `<span class="code-lang">${escapeHtml(shown)}</span>` : "";
      return `<div class="code-block"><div class="code-head">${label}<button type="button" class="code-copy">${escapeHtml(t("code.copy"))}</button></div><pre><code class="hljs">${html}</code></pre></div>`;
    },
  },
});
// KaTeX limits (https://katex.org/docs/options): no trusted commands, bounded macro expansion and
// sizes, so hostile TeX can neither link nor blow up the page.
marked.use(markedKatex({ output: "mathml", throwOnError: false, trust: false, strict: "ignore", maxExpand: 1000, maxSize: 20 }));

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
  USE_PROFILES: { html: true, mathMl: true },
  // KaTeX's MathML keeps the TeX source in <annotation> (not displayed; read by assistive tech).
  ADD_TAGS: ["semantics", "annotation"],
  ADD_ATTR: ["encoding"],
  FORBID_TAGS: ["img", "style", "form", "input", "textarea", "select", "iframe", "svg", "video", "audio", "annotation-xml", "maction"],
  FORBID_ATTR: ["style", "srcset", "xlink:href"],
  ALLOW_DATA_ATTR: false,
};

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  // Only real links may link: MathML elements take href too.
  if (node.tagName !== "A" && node.hasAttribute?.("href")) node.removeAttribute("href");
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
