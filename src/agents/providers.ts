import type { Config } from '../config/index.ts';
import type { ModelProvider } from '../engine/spec.ts';
import { AppError } from '../errors.ts';
import type { ModelAccess } from './claude/environment.ts';

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

/**
 * How an agent reaches a provider other than the server's own model access. Read from the
 * current config at every start, so a rotated ZAI_API_KEY is used by the next new process.
 * Never the Anthropic OAuth token: it would be sent to a third party.
 */
export function providerAccess(config: Config, provider: Exclude<ModelProvider, 'anthropic'>): ModelAccess {
  if (provider !== 'zai' || !config.ZAI_API_KEY) {
    // The message names the variable, never its value.
    throw new AppError('unavailable', 'GLM models are not configured (ZAI_API_KEY is unset)');
  }
  return {
    baseUrl: config.ZAI_BASE_URL,
    apiKey: config.ZAI_API_KEY,
    defaultModel: ZAI_DEFAULT_MODEL,
    familyModels: ZAI_FAMILY_MODELS,
  };
}
