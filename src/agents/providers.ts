import type { Config } from '../config/index.ts';
import { ZAI_DEFAULT_MODEL, ZAI_FAMILY_MODELS } from '../engine/providers.ts';
import type { ModelProvider } from '../engine/spec.ts';
import { AppError } from '../errors.ts';
import type { ModelAccess } from './claude/environment.ts';

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
