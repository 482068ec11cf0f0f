// Sidebar date groups in local calendar days.
import assert from "node:assert/strict";
import { test } from "node:test";
import { dateGroup, groupByDate } from "../src/dates.js";

const now = new Date(2026, 11, 3, 0, 10); // 3 Dec 2026, 00:10 local time
const at = (d, h = 12, m = 0) => new Date(2026, 11, d, h, m).toISOString();

test("calendar days, not 24-hour spans", () => {
  assert.equal(dateGroup(at(3, 0, 5), now), "today");
  assert.equal(dateGroup(at(2, 23, 50), now), "yesterday");
  assert.equal(dateGroup(at(1), now), "week");
  assert.equal(dateGroup(new Date(2026, 10, 26, 9).toISOString(), now), "week");
  assert.equal(dateGroup(new Date(2026, 10, 25, 9).toISOString(), now), "older");
  assert.equal(dateGroup("not a date", now), "older");
  assert.equal(dateGroup(at(4), now), "today", "a clock a little ahead still counts as today");
});

test("groups keep the API's order and leave out empty ones", () => {
  const items = [
    { id: "a", updatedAt: at(3, 0, 5) },
    { id: "b", updatedAt: at(2) },
    { id: "c", createdAt: at(2, 8) },
    { id: "d", updatedAt: "2025-01-01T00:00:00Z" },
  ];
  assert.deepEqual(
    groupByDate(items, now).map(({ group, items: list }) => [group, list.map((i) => i.id)]),
    [["today", ["a"]], ["yesterday", ["b", "c"]], ["older", ["d"]]],
  );
});
