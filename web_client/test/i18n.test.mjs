// The string catalog: every language has every key, every key the sources use exists, and the
// browser's language picks the default.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { CATALOG, LANGUAGES, initialLanguage, setLanguage, t } from "../src/i18n.js";

const SRC = new URL("../src/", import.meta.url).pathname;

function sources(dir = SRC) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".js") ? [join(dir, e.name)] : []));
}

test("every language has exactly the English keys, with the same placeholders", () => {
  const keys = Object.keys(CATALOG.en).sort();
  for (const { code } of LANGUAGES) {
    assert.deepEqual(Object.keys(CATALOG[code]).sort(), keys, `${code} differs from en`);
    for (const key of keys) {
      const holes = (s) => (typeof s === "string" ? [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort() : []);
      assert.deepEqual(holes(CATALOG[code][key]), holes(CATALOG.en[key]), `${code} ${key}`);
    }
  }
});

test("every t(\"key\") in the sources is in the catalog", () => {
  const used = new Set();
  for (const file of sources()) {
    for (const m of readFileSync(file, "utf8").matchAll(/\bt\(\s*"([^"]+)"/g)) used.add(m[1]);
  }
  const missing = [...used].filter((k) => !(k in CATALOG.en));
  assert.deepEqual(missing, []);
  assert.ok(used.size > 100, `only ${used.size} keys found: is the scan broken?`);
});

test("the browser's language picks the default; a saved choice wins", () => {
  const none = { getItem: () => null };
  assert.equal(initialLanguage(none, ["ko-KR", "en-US"]), "ko");
  assert.equal(initialLanguage(none, ["fr-FR", "ko"]), "ko");
  assert.equal(initialLanguage(none, ["fr-FR"]), "en");
  assert.equal(initialLanguage({ getItem: () => "en" }, ["ko-KR"]), "en");
  assert.equal(initialLanguage({ getItem: () => "xx" }, ["ko-KR"]), "ko");
});

test("t() fills placeholders, handles plurals, and falls back to English then the key", () => {
  setLanguage("ko");
  assert.equal(t("tray.remove", { name: "a.png" }), "a.png 제거");
  assert.equal(t("msg.attachments", { count: 3 }), "첨부 파일 3개");
  setLanguage("en");
  assert.equal(t("msg.attachments", { count: 1 }), "1 attachment");
  assert.equal(t("msg.attachments", { count: 2 }), "2 attachments");
  assert.equal(t("no.such.key"), "no.such.key");
  setLanguage("xx");
  assert.equal(t("sidebar.newChat"), "New chat");
});
