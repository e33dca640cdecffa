import type { Config } from '../config/index.ts';
import type { ModelProvider } from './spec.ts';

/**
 * Z.ai's GLM models in Claude Code's three model slots. Claude Code picks the haiku slot
 * for light work (and callers ask for "haiku" when they want cheap), so the lightest GLM
 * model sits there and the newest, largest one in opus.
 */
export const ZAI_FAMILY_MODELS = { haiku: 'glm-4.5-air', sonnet: 'glm-4.7', opus: 'glm-5.1' } as const;

/** A GLM run that names no model. */
export const ZAI_DEFAULT_MODEL = ZAI_FAMILY_MODELS.sonnet;

/** Whether runs may name this provider: Z.ai needs its key, Anthropic is always there. */
export function isProviderConfigured(config: Config, provider: ModelProvider): boolean {
  return provider === 'anthropic' || Boolean(config.ZAI_API_KEY);
}
