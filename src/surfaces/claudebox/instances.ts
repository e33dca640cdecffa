import { type Principal, servicePrincipal } from '../../auth/principal.ts';
import type { Config } from '../../config/index.ts';
import { isProviderConfigured, ZAI_DEFAULT_MODEL, ZAI_FAMILY_MODELS } from '../../engine/providers.ts';
import type { ModelProvider } from '../../engine/spec.ts';

/** Config variables that hold a claudebox instance's bearer tokens. */
export type InstanceTokenVar = 'CLAUDEBOX_API_TOKEN' | 'CLAUDEBOX_ZAI_API_TOKEN' | 'LITELLM_MASTER_KEY';

/**
 * One claudebox instance of seed 002: the same routes under its own prefix, its own token
 * and user (so its workspaces and sessions are its own), and the model provider its runs use.
 */
export interface ClaudeboxInstance {
  /** URL prefix of its routes: `/claudebox/run`, `/claudebox/openai/v1`, `/claudebox/mcp/`. */
  prefix: string;
  /** Whose values stand for `principal`; LITELLM_MASTER_KEY is in both, as LiteLLM forwarded to both. */
  tokenVars: readonly InstanceTokenVar[];
  principal: Principal;
  provider: ModelProvider;
  /** The model of a run that names none; undefined leaves it to the server's CLAUDE_MODEL. */
  defaultModel?: string;
  /** The run API's `model` aliases; other names pass through unchanged. */
  modelAliases: Readonly<Record<string, string>>;
  /** OpenAI model ids this instance serves → the run's model. */
  openAiModels: Readonly<Record<string, string>>;
}

export const CLAUDEBOX: ClaudeboxInstance = {
  prefix: '/claudebox',
  tokenVars: ['CLAUDEBOX_API_TOKEN', 'LITELLM_MASTER_KEY'],
  principal: servicePrincipal('claudebox'),
  provider: 'anthropic',
  // Claude Code resolves haiku/sonnet/opus itself, to the current model of each family.
  modelAliases: {},
  openAiModels: {
    'claudebox-haiku': 'haiku',
    'claudebox-sonnet': 'sonnet',
    'claudebox-opus': 'opus',
    haiku: 'haiku',
    sonnet: 'sonnet',
    opus: 'opus',
  },
};

export const CLAUDEBOX_ZAI: ClaudeboxInstance = {
  prefix: '/claudebox-zai',
  tokenVars: ['CLAUDEBOX_ZAI_API_TOKEN', 'LITELLM_MASTER_KEY'],
  principal: servicePrincipal('claudebox-zai'),
  provider: 'zai',
  defaultModel: ZAI_DEFAULT_MODEL,
  // Callers written for the Claude instance keep working: each family maps to its GLM peer.
  modelAliases: ZAI_FAMILY_MODELS,
  openAiModels: {
    'claudebox-glm-4.5-air': 'glm-4.5-air',
    'claudebox-glm-4.7': 'glm-4.7',
    'claudebox-glm-5.1': 'glm-5.1',
    'glm-4.5-air': 'glm-4.5-air',
    'glm-4.7': 'glm-4.7',
    'glm-5.1': 'glm-5.1',
  },
};

/** In the order the OpenAI registry looks a model up. */
export const CLAUDEBOX_INSTANCES: readonly ClaudeboxInstance[] = [CLAUDEBOX, CLAUDEBOX_ZAI];

/** An instance can run only when its provider is configured (Z.ai needs ZAI_API_KEY). */
export function isInstanceAvailable(instance: ClaudeboxInstance, config: Config): boolean {
  return isProviderConfigured(config, instance.provider);
}

/** The model a run of this instance uses for the `model` a caller named (or none). */
export function instanceModel(instance: ClaudeboxInstance, model: string | undefined): string | undefined {
  if (!model) return instance.defaultModel;
  return instance.modelAliases[model] ?? model;
}
