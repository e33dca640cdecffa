import type { Principal } from '../../auth/principal.ts';

/**
 * The one model registry of every OpenAI path: a request's `model` picks its flavour.
 * `claude-ops` is seed 000's stateless chat app; the claudebox models are seed 002's
 * (LiteLLM names `claudebox-*` and claudebox's own plain names), mapped to Claude Code's
 * model aliases.
 */
export type Flavour = { kind: 'claude-ops' } | { kind: 'claudebox'; claudeModel: string };

export const CLAUDE_OPS_MODEL = 'claude-ops';

const CLAUDEBOX_MODELS: Record<string, string> = {
  'claudebox-haiku': 'haiku',
  'claudebox-sonnet': 'sonnet',
  'claudebox-opus': 'opus',
  haiku: 'haiku',
  sonnet: 'sonnet',
  opus: 'opus',
};

export function flavourOf(model: string): Flavour | undefined {
  if (model === CLAUDE_OPS_MODEL) return { kind: 'claude-ops' };
  const claudeModel = CLAUDEBOX_MODELS[model];
  return claudeModel ? { kind: 'claudebox', claudeModel } : undefined;
}

/** Who is calling the OpenAI paths; decides which models they may use. */
export type Caller = { kind: 'claude-ops' } | { kind: 'claudebox'; principal: Principal };

export interface ModelEntry {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

// A fixed date, so the list is stable across restarts (clients cache it).
const CREATED_S = 1_735_689_600;

/** Every model this caller may use; `isChatEnabled` adds claude-ops for anonymous probes too. */
export function modelsFor(caller: Caller | undefined, isChatEnabled: boolean): ModelEntry[] {
  const ids: string[] = [];
  if (isChatEnabled && (caller === undefined || caller.kind === 'claude-ops')) ids.push(CLAUDE_OPS_MODEL);
  if (caller?.kind === 'claudebox') ids.push(...Object.keys(CLAUDEBOX_MODELS));
  return ids.map((id) => ({
    id,
    object: 'model',
    created: CREATED_S,
    owned_by: id === CLAUDE_OPS_MODEL ? 'claude-ops' : 'claudebox',
  }));
}
