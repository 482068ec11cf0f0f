// Cognito managed login with the authorization code grant and PKCE (RFC 7636), no client secret.
// Tokens live in sessionStorage: they survive a reload but not the closing of the tab, and are
// never written to a cookie or localStorage.
import { t } from "./i18n.js";

const TOKENS_KEY = "chat.auth.tokens";
const PENDING_KEY = "chat.auth.pending";
const SCOPES = "openid email profile";
// Refresh a little before expiry so a request never leaves with a token about to lapse.
const EXPIRY_MARGIN_MS = 60_000;

export class Auth {
  /** @param {null | {clientId: string, domain: string, redirectUri: string, scopes?: string}} config */
  constructor(config) {
    this.config = config;
    this.origin = config ? normaliseDomain(config.domain) : "";
    this.refreshing = null;
  }

  get enabled() {
    return this.config !== null;
  }

  get signedIn() {
    return !this.enabled || readTokens() !== null;
  }

  /** The signed-in user's e-mail or name, from the ID token (display only, never trusted). */
  get userLabel() {
    const tokens = readTokens();
    if (!tokens) return "";
    const claims = decodeJwt(tokens.idToken);
    return claims.email || claims["cognito:username"] || claims.name || "";
  }

  /**
   * Finishes a sign-in when the page was opened by the managed login redirect (?code=&state=).
   * Returns the location hash to restore, or null when this load is not a sign-in callback.
   */
  async completeSignIn() {
    if (!this.enabled) return null;
    const params = new URLSearchParams(window.location.search);
    const code = params.get("code");
    const error = params.get("error");
    if (!code && !error) return null;
    const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) || "null");
    sessionStorage.removeItem(PENDING_KEY);
    window.history.replaceState(null, "", window.location.pathname + (pending?.hash || ""));
    if (error) throw new AuthError(params.get("error_description") || error);
    if (!pending || pending.state !== params.get("state")) {
      throw new AuthError(t("signIn.mismatch"));
    }
    const tokens = await this.tokenRequest({
      grant_type: "authorization_code",
      code,
      redirect_uri: this.config.redirectUri,
      code_verifier: pending.verifier,
    });
    writeTokens(tokens);
    return pending.hash || "";
  }

  /** Sends the browser to the managed login page. */
  async signIn() {
    const verifier = randomString(32);
    const state = randomString(16);
    const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
    sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state, hash: window.location.hash }));
    const query = new URLSearchParams({
      response_type: "code",
      client_id: this.config.clientId,
      redirect_uri: this.config.redirectUri,
      scope: this.config.scopes || SCOPES,
      state,
      code_challenge: challenge,
      code_challenge_method: "S256",
    });
    window.location.assign(`${this.origin}/oauth2/authorize?${query}`);
  }

  signOut() {
    sessionStorage.removeItem(TOKENS_KEY);
    if (!this.enabled) return;
    const query = new URLSearchParams({ client_id: this.config.clientId, logout_uri: this.config.redirectUri });
    window.location.assign(`${this.origin}/logout?${query}`);
  }

  /**
   * The bearer token for the API (the ID token: what an API Gateway Cognito authorizer without
   * OAuth scopes validates), refreshed when close to expiry; null when auth is off or signed out.
   */
  async bearer({ forceRefresh = false } = {}) {
    if (!this.enabled) return null;
    const tokens = readTokens();
    if (!tokens) return null;
    if (!forceRefresh && tokens.expiresAt - Date.now() > EXPIRY_MARGIN_MS) return tokens.idToken;
    if (!tokens.refreshToken) {
      sessionStorage.removeItem(TOKENS_KEY);
      return null;
    }
    // Concurrent requests share one refresh.
    this.refreshing ??= this.tokenRequest({ grant_type: "refresh_token", refresh_token: tokens.refreshToken })
      .then((fresh) => {
        writeTokens({ ...fresh, refreshToken: fresh.refreshToken || tokens.refreshToken });
        return fresh.idToken;
      })
      .catch(() => {
        sessionStorage.removeItem(TOKENS_KEY);
        return null;
      })
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }

  async tokenRequest(fields) {
    const response = await fetch(`${this.origin}/oauth2/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: this.config.clientId, ...fields }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok || !body.id_token) {
      throw new AuthError(body.error_description || body.error || t("signIn.failed"));
    }
    return {
      idToken: body.id_token,
      accessToken: body.access_token,
      refreshToken: body.refresh_token,
      expiresAt: Date.now() + Number(body.expires_in || 3600) * 1000,
    };
  }
}

export class AuthError extends Error {}

function normaliseDomain(domain) {
  const withScheme = /^https?:\/\//.test(domain) ? domain : `https://${domain}`;
  return withScheme.replace(/\/+$/, "");
}

function readTokens() {
  try {
    const tokens = JSON.parse(sessionStorage.getItem(TOKENS_KEY) || "null");
    return tokens && tokens.idToken ? tokens : null;
  } catch {
    return null;
  }
}

function writeTokens(tokens) {
  sessionStorage.setItem(TOKENS_KEY, JSON.stringify(tokens));
}

function randomString(bytes) {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

function base64url(buffer) {
  const bytes = new Uint8Array(buffer);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function decodeJwt(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(decodeURIComponent(escape(atob(payload))));
  } catch {
    return {};
  }
}
