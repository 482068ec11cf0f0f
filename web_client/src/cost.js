// Money as people read it, and a conversation's totals (docs/api.md: costUsd on every answer).
import { t } from "./i18n.js";

/** "$0.000540" for small amounts, "$1.25" from a dollar up, "$0" for free (local) models. */
export function formatCost(usd) {
  if (usd == null || Number.isNaN(Number(usd))) return "";
  const value = Number(usd);
  if (value === 0) return t("cost.free");
  return value < 1 ? `$${value.toFixed(6)}` : `$${value.toFixed(2)}`;
}

/** Tokens and cost summed over a conversation's answers; cost null when any answer is unpriced. */
export function conversationTotals(messages) {
  let input = 0;
  let output = 0;
  let cost = 0;
  let priced = true;
  let answers = 0;
  for (const m of messages || []) {
    if (m.role !== "assistant" || !m.usage) continue;
    answers += 1;
    input += m.usage.inputTokens || 0;
    output += m.usage.outputTokens || 0;
    const each = m.usage.costUsd ?? m.costUsd;
    if (each == null) priced = false;
    else cost += Number(each);
  }
  return { answers, input, output, cost: priced ? cost : null };
}
