// The open conversation lives in the URL (#/c/<id>) and in localStorage, so a reload or a shared
// link opens it again. The router only translates between the hash and a conversation id.

const LAST_KEY = "chat.lastConversation";
const ROUTE = /^#\/c\/([0-9a-z]{10,40})$/i;

/** The conversation id in a hash like "#/c/01h…", or null. */
export function idFromHash(hash) {
  const match = ROUTE.exec(hash || "");
  return match ? match[1].toLowerCase() : null;
}

export class Router {
  /** @param {{onOpen: (id: string) => void, onNew: () => void}} handlers called on back/forward/link. */
  constructor({ onOpen, onNew }) {
    this.current = idFromHash(window.location.hash);
    window.addEventListener("hashchange", () => {
      const id = idFromHash(window.location.hash);
      if (id === this.current) return;
      this.current = id;
      if (id) onOpen(id);
      else if (!window.location.hash || window.location.hash === "#/") onNew();
    });
  }

  /** Where to start: the id in the URL, else the last one open (quiet: it may be gone). */
  initial() {
    const fromHash = idFromHash(window.location.hash);
    return { id: fromHash || localStorage.getItem(LAST_KEY), quiet: !fromHash };
  }

  /** Mirrors the open conversation: a new chat pushes "#/", an id replaces the hash. */
  show(id, { push = false } = {}) {
    this.current = id;
    const target = id ? `#/c/${id}` : "#/";
    if (window.location.hash !== target && (window.location.hash || id)) {
      if (push) window.history.pushState(null, "", target);
      else window.history.replaceState(null, "", target);
    }
    if (id) localStorage.setItem(LAST_KEY, id);
    else localStorage.removeItem(LAST_KEY);
  }
}
