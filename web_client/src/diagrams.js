// Draws the ```mermaid blocks that markdown.js leaves as `.diagram` boxes. Mermaid is large
// (~2 MB), so it is imported only when a diagram appears (esbuild splits it into its own chunk).
//
// Safety: securityLevel "strict" (no click callbacks, labels encoded), SVG text labels instead of
// HTML in foreignObject, directives may not change security or styling, and the SVG is sanitised
// again by DOMPurify (SVG profile, no links) before it reaches the page.
//
// The page's CSP forbids inline styles (style-src 'self'), and Mermaid styles its drawing with a
// <style> element and style attributes. While it draws, both are routed through CSSOM, which CSP
// does not govern and which cannot run script: a style element becomes a constructed stylesheet,
// setAttribute("style", …) becomes element.style.cssText. The finished SVG is placed the same way.
import DOMPurify from "dompurify";
import { t } from "./i18n.js";

let loading = null;
let seq = 0;
const drawn = new Map(); // source -> sanitised <svg> element, so a re-render does not redraw

function mermaid() {
  loading ??= import("mermaid").then(({ default: m }) => {
    // One light theme on a white panel in both colour schemes: a diagram reads like a figure.
    m.initialize({
      startOnLoad: false,
      securityLevel: "strict",
      theme: "default",
      htmlLabels: false,
      flowchart: { htmlLabels: false },
      maxTextSize: 20_000,
      maxEdges: 300,
      // Keys a %%{init}%% directive in the diagram may not override.
      secure: ["secure", "securityLevel", "startOnLoad", "maxTextSize", "maxEdges", "htmlLabels", "flowchart", "theme", "themeCSS", "themeVariables", "fontFamily", "darkMode", "dompurifyConfig"],
    });
    return m;
  });
  return loading;
}

/** Draws every not-yet-drawn `.diagram` under `root`; a diagram that does not parse keeps its source. */
export async function drawDiagrams(root) {
  const boxes = [...root.querySelectorAll(".diagram:not(.drawn):not(.failed)")];
  for (const box of boxes) {
    const source = box.querySelector("code")?.textContent || "";
    try {
      let svg = drawn.get(source);
      if (!svg) {
        svg = await draw(await mermaid(), source);
        drawn.set(source, svg);
      }
      if (!box.isConnected || box.classList.contains("drawn")) continue;
      // Cloning copies the CSSOM styles as they are; nothing is parsed again.
      box.replaceChildren(svg.cloneNode(true));
      box.classList.add("drawn");
    } catch {
      box.classList.add("failed");
      box.setAttribute("aria-label", t("diagram.failed"));
    }
  }
}

let queue = Promise.resolve();

/**
 * Draws one diagram and returns its sanitised <svg> element. Mermaid returns its drawing as markup,
 * and parsing markup with style attributes is what the CSP refuses, so the live element is taken
 * from the scratch box Mermaid removes from <body> when it is done, and sanitised in place.
 * One drawing at a time: the CSSOM routing below is global while it lasts.
 */
function draw(m, source) {
  const run = queue.then(async () => {
    const id = `mermaid-${++seq}`;
    let svg = null;
    const take = (records) => {
      for (const record of records) {
        for (const node of record.removedNodes) if (node.id === `d${id}`) svg = node.querySelector("svg");
      }
    };
    const observer = new MutationObserver(take);
    observer.observe(document.body, { childList: true });
    try {
      await withCssom(() => m.render(id, source));
    } finally {
      take(observer.takeRecords());
      observer.disconnect();
      document.getElementById(`d${id}`)?.remove();
    }
    if (!svg) throw new Error("Mermaid drew nothing");
    DOMPurify.sanitize(svg, {
      IN_PLACE: true,
      USE_PROFILES: { svg: true, svgFilters: true },
      FORBID_TAGS: ["a", "foreignObject", "script", "image", "use", "style"],
    });
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", t("diagram.label"));
    return svg;
  });
  queue = run.catch(() => {});
  return run;
}

/** Runs `render` with inline styles routed through CSSOM (see the top of this file). */
async function withCssom(render) {
  const { insertBefore, appendChild } = Node.prototype;
  const { setAttribute } = Element.prototype;
  const { sanitize } = DOMPurify;
  // In strict mode Mermaid finally re-sanitises its drawing as markup (the same DOMPurify), which
  // parses style attributes again. That copy is thrown away (the live element is used), so its
  // style attributes are dropped before parsing; everything is sanitised as before.
  DOMPurify.sanitize = (dirty, config) =>
    sanitize.call(DOMPurify, typeof dirty === "string" && dirty.includes("<svg") ? dirty.replace(/\sstyle="[^"]*"/g, "") : dirty, config);
  const styleless = (node) => {
    if (!(node instanceof HTMLStyleElement || node instanceof SVGStyleElement)) return node;
    adopt(node.textContent);
    return document.createComment("style");
  };
  Node.prototype.insertBefore = function (node, child) {
    return insertBefore.call(this, styleless(node), child);
  };
  Node.prototype.appendChild = function (node) {
    return appendChild.call(this, styleless(node));
  };
  Element.prototype.setAttribute = function (name, value) {
    if (String(name).toLowerCase() === "style" && this.style) this.style.cssText = String(value);
    else setAttribute.call(this, name, value);
  };
  try {
    return await render();
  } finally {
    Node.prototype.insertBefore = insertBefore;
    Node.prototype.appendChild = appendChild;
    Element.prototype.setAttribute = setAttribute;
    DOMPurify.sanitize = sanitize;
  }
}

const sheets = new Set();

/** Adds Mermaid's CSS (scoped to its diagram's id) as a constructed stylesheet; no @import. */
function adopt(css) {
  if (!css || sheets.has(css)) return;
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(css.replace(/@import[^;]*;?/g, ""));
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  sheets.add(css);
}
