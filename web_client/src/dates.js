// Groups conversations by when they were last used, in the person's local time zone:
// Today, Yesterday, Previous 7 days, Older (the grouping ChatGPT and Open WebUI use).

export const GROUPS = ["today", "yesterday", "week", "older"];

/** The group of an ISO-8601 timestamp relative to `now`; unreadable dates count as older. */
export function dateGroup(iso, now = new Date()) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return "older";
  const startOfDay = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  // Calendar days, not 24-hour spans: 23:50 yesterday is "yesterday" at 00:10 today.
  const days = Math.round((startOfDay(now) - startOfDay(date)) / 86_400_000);
  if (days <= 0) return "today";
  if (days === 1) return "yesterday";
  if (days < 8) return "week";
  return "older";
}

/**
 * [{group, items}] in GROUPS order, empty groups left out; items keep their order (newest first
 * from the API). An item's time is `updatedAt`, else `createdAt`.
 */
export function groupByDate(items, now = new Date()) {
  const buckets = new Map(GROUPS.map((g) => [g, []]));
  for (const item of items) buckets.get(dateGroup(item.updatedAt || item.createdAt, now)).push(item);
  return GROUPS.filter((g) => buckets.get(g).length).map((group) => ({ group, items: buckets.get(group) }));
}
