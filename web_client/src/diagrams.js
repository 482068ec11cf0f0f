// Draws the ```mermaid blocks that markdown.js leaves as `.diagram` boxes. Mermaid is large
// (~2 MB), so it is imported only when a diagram appears (esbuild splits it into its own chunk).
//
// Safety: securityLevel "strict" (no click callbacks, labels encoded), SVG text labels instead of
// HTML in foreignObject, directives may not change security or styling, and the SVG is sanitised
// again by DOMPurify (SVG profile, no links) before it reaches the page. The page's CSP forbids
// inline styles, so Mermaid's <style> element becomes a constructed stylesheet (CSSOM) and its
// style attributes are applied through element.style; neither can run script.
import DOMPurify from "dompurify";
import { t } from "./i18n.js";

let loading = null;
let seq = 0;
const drawn = new Map(); // source -> sanitised SVG markup + CSS, so a re-render does not redraw

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
  if (!boxes.length) return;
  for (const box of boxes) {
    const source = box.querySelector("code")?.textContent || "";
    try {
      let result = drawn.get(source);
      if (!result) {
        const m = await mermaid();
        const id = `mermaid-${++seq}`;
        const { svg } = await m.render(id, source);
        result = inert(svg);
        drawn.set(source, result);
      }
      if (!box.isConnected) continue;
      box.replaceChildren(place(result));
      box.classList.add("drawn");
    } catch {
      box.classList.add("failed");
      box.setAttribute("aria-label", t("diagram.failed"));
      // Mermaid leaves its scratch element behind when a diagram fails to parse.
      document.querySelectorAll("body > [id^='dmermaid-']").forEach((el) => el.remove());
    }
  }
}

function inert(svg) {
  const fragment = DOMPurify.sanitize(svg, {
    USE_PROFILES: { svg: true, svgFilters: true },
    FORBID_TAGS: ["a", "foreignObject", "script", "image", "use"],
    RETURN_DOM_FRAGMENT: true,
  });
  const css = [...fragment.querySelectorAll("style")].map((s) => s.textContent).join("\n");
  fragment.querySelectorAll("style").forEach((s) => s.remove());
  const styled = [...fragment.querySelectorAll("[style]")].map((el) => [el, el.getAttribute("style")]);
  for (const [el] of styled) el.removeAttribute("style");
  const svgEl = fragment.querySelector("svg");
  return { svg: svgEl, css, styled };
}

const sheets = new Set();

function place({ svg, css, styled }) {
  if (css && !sheets.has(css)) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css.replace(/@import[^;]*;/g, ""));
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
    sheets.add(css);
  }
  const copy = svg.cloneNode(true);
  // Same walk order as when the style attributes were read, on the clone.
  const originals = [...svg.querySelectorAll("*")];
  const clones = [...copy.querySelectorAll("*")];
  for (const [el, style] of styled) {
    const target = el === svg ? copy : clones[originals.indexOf(el)];
    if (target) target.style.cssText = style;
  }
  copy.setAttribute("role", "img");
  copy.setAttribute("aria-label", t("diagram.label"));
  return copy;
}
