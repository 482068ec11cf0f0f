// The conversation list, grouped by date (Today, Yesterday, Previous 7 days, Older), with rename
// and delete; on a phone it is a drawer.
import { groupByDate } from "../dates.js";
import { h, icon } from "../dom.js";
import { t } from "../i18n.js";

export class Sidebar {
  /**
   * @param {{localMode: boolean, userLabel: string, signOut: (() => void) | null,
   *          onNewChat: () => void, onMore: () => void, onPick: () => void,
   *          onRename: (conv: object, title: string) => Promise<boolean>, onDelete: (conv: object) => void}} options
   */
  constructor(options) {
    this.options = options;
    this.groups = h("div", { class: "conv-groups" });
    this.searchBox = h("input", {
      type: "search", class: "search-input", id: "conversation-search", placeholder: t("search.placeholder"),
      "aria-label": t("search.label"), autocomplete: "off", maxlength: 200,
      oninput: (e) => options.onSearch?.(e.target.value),
      onkeydown: (e) => { if (e.key === "Escape" && e.target.value) { e.stopPropagation(); e.target.value = ""; options.onSearch?.(""); } },
    });
    this.searchStatus = h("p", { class: "search-status muted", role: "status" });
    this.more = h("button", { type: "button", class: "btn ghost small more", hidden: true, onclick: options.onMore }, t("sidebar.older"));
    this.el = h(
      "aside",
      { id: "sidebar", class: "sidebar", "aria-label": t("sidebar.label") },
      h(
        "div",
        { class: "sidebar-head" },
        brand(),
        (this.close = h("button", { type: "button", class: "icon-btn close-sidebar", "aria-label": t("sidebar.close") }, icon("close"))),
      ),
      (this.newChat = h("button", { type: "button", class: "btn primary new-chat", onclick: options.onNewChat }, icon("plus"), t("sidebar.newChat"))),
      h("div", { class: "search", role: "search" }, this.searchBox),
      h("nav", { class: "conv-nav", "aria-label": t("sidebar.history") }, this.searchStatus, this.groups, this.more),
      h(
        "div",
        { class: "sidebar-foot" },
        options.localMode ? h("span", { class: "pill", title: t("sidebar.localModeHint") }, t("sidebar.localMode")) : null,
        options.userLabel ? h("span", { class: "user-label" }, options.userLabel) : null,
        options.signOut ? h("button", { type: "button", class: "btn ghost small", onclick: options.signOut }, icon("logout"), t("sidebar.signOut")) : null,
      ),
    );
  }

  /** Renders the list; `currentId` is marked with aria-current. Skipped while a title is edited. */
  render({ conversations, nextCursor, listLoaded, search }, currentId) {
    this.last = [{ conversations, nextCursor, listLoaded, search }, currentId];
    if (this.editing) return;
    if (search?.q) return this.renderSearch(search, currentId);
    this.searchStatus.textContent = "";
    const groups = groupByDate(conversations).map(({ group, items }) => {
      const id = `conv-group-${group}`;
      return h(
        "section",
        { class: "conv-group", "aria-labelledby": id },
        h("h2", { class: "conv-group-title", id }, t(`group.${group}`)),
        h("ul", { class: "conv-list" }, items.map((c) => this.item(c, c.id === currentId))),
      );
    });
    if (!groups.length && listLoaded) groups.push(h("p", { class: "conv-empty muted" }, t("sidebar.empty")));
    this.groups.replaceChildren(...groups);
    this.more.hidden = !nextCursor;
  }

  /** Search hits instead of the date groups: one link per hit, the matching text under the title. */
  renderSearch({ q, items, loading, error }, currentId) {
    this.more.hidden = true;
    this.searchStatus.textContent = error || (loading ? t("search.searching") : items.length ? t("search.count", { n: items.length }) : t("search.none", { q }));
    const list = items.map((hit) =>
      h(
        "li",
        { class: `conv-item search-hit${hit.conversationId === currentId ? " active" : ""}` },
        h(
          "a",
          { class: "conv-link", href: `#/c/${hit.conversationId}`, "aria-current": hit.conversationId === currentId ? "page" : null, onclick: () => this.options.onPick() },
          h("span", { class: "conv-name" }, hit.title || t("conv.untitled")),
          hit.messageId ? h("span", { class: "hit-snippet" }, hit.snippet) : null,
        ),
      ),
    );
    this.groups.replaceChildren(h("ul", { class: "conv-list search-results", "aria-label": t("search.results") }, list));
  }

  item(conv, active) {
    const title = conv.title || t("conv.untitled");
    const link = h(
      "a",
      { class: "conv-link", href: `#/c/${conv.id}`, "aria-current": active ? "page" : null, onclick: () => this.options.onPick() },
      h("span", { class: "conv-name" }, title),
    );
    const li = h(
      "li",
      { class: `conv-item${active ? " active" : ""}`, dataset: { id: conv.id } },
      link,
      h(
        "div",
        { class: "conv-actions" },
        h("button", { type: "button", class: "icon-btn small", "aria-label": t("conv.rename", { title }), title: t("conv.renameShort"), onclick: () => this.startRename(li, conv) }, icon("pencil")),
        h("button", { type: "button", class: "icon-btn small", "aria-label": t("conv.delete", { title }), title: t("conv.deleteShort"), onclick: () => this.options.onDelete(conv) }, icon("trash")),
      ),
    );
    return li;
  }

  startRename(li, conv) {
    const input = h("input", { type: "text", class: "rename-input", value: conv.title || "", maxlength: 200, "aria-label": t("conv.newTitle") });
    this.editing = true;
    let done = false;
    const finish = async (save) => {
      if (done) return;
      done = true;
      const title = input.value.trim();
      if (save && title && title !== conv.title) await this.options.onRename(conv, title);
      this.editing = false;
      if (this.last) this.render(...this.last);
      this.groups.querySelector(`[data-id="${conv.id}"] .conv-link`)?.focus();
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
}

export function brand(big = false) {
  return h("span", { class: big ? "brand big" : "brand" }, h("span", { class: "brand-mark", "aria-hidden": "true" }), "Bedrock Chat");
}
