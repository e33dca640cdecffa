import { globMatches } from '../auth/scope.ts';
import type { ModelCall } from '../engine/events.ts';

/** USD per million tokens. Cache reads cost 0.1× input, cache writes 1.25× (Anthropic's 5-minute cache). */
interface Price {
  input: number;
  output: number;
}

/**
 * Anthropic's list prices, matched first to last by glob. A model not here (a Z.ai GLM
 * model, a future Claude) is priced by the agent's own `total_cost_usd` instead (see
 * runCost). Kept in code so a price change is a reviewed commit.
 */
const PRICES: ReadonlyArray<[string, Price]> = [
  ['claude-opus-4-5*', { input: 5, output: 25 }],
  ['claude-opus-4-6*', { input: 5, output: 25 }],
  ['claude-opus-4*', { input: 15, output: 75 }],
  ['claude-3-opus*', { input: 15, output: 75 }],
  ['claude-sonnet-4*', { input: 3, output: 15 }],
  ['claude-3-7-sonnet*', { input: 3, output: 15 }],
  ['claude-3-5-sonnet*', { input: 3, output: 15 }],
  ['claude-haiku-4*', { input: 1, output: 5 }],
  ['claude-3-5-haiku*', { input: 0.8, output: 4 }],
  ['claude-3-haiku*', { input: 0.25, output: 1.25 }],
];

export function priceOf(model: string): Price | undefined {
  return PRICES.find(([glob]) => globMatches(glob, model))?.[1];
}

/** One relayed call's cost in USD, or undefined when its model has no list price here. */
export function callCostUsd(call: ModelCall): number | undefined {
  const p = priceOf(call.model);
  if (!p) return undefined;
  return (
    (call.inputTokens * p.input +
      call.outputTokens * p.output +
      call.cacheReadInputTokens * p.input * 0.1 +
      call.cacheCreationInputTokens * p.input * 1.25) /
    1_000_000
  );
}
