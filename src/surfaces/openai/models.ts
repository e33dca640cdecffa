import type { Principal } from '../../auth/principal.ts';
import { isModelAllowed } from '../../auth/scope.ts';
import type { Config } from '../../config/index.ts';
import { CLAUDEBOX_INSTANCES, type ClaudeboxInstance, isInstanceAvailable } from '../claudebox/instances.ts';

/**
 * The one model registry of every OpenAI path: a request's `model` picks its flavour.
 * `claude-ops` is seed 000's stateless chat app; the claudebox models are seed 002's,
 * each served by the claudebox instance that lists it (claudebox-* by the Claude one,
 * claudebox-glm-* by the Z.ai one, only while ZAI_API_KEY is set).
 */
export type Flavour =
  | { kind: 'claude-ops' }
  | { kind: 'claudebox'; instance: ClaudeboxInstance; claudeModel: string };

export const CLAUDE_OPS_MODEL = 'claude-ops';

export function flavourOf(model: string, config: Config): Flavour | undefined {
  if (model === CLAUDE_OPS_MODEL) return { kind: 'claude-ops' };
  for (const instance of CLAUDEBOX_INSTANCES) {
    const claudeModel = instance.openAiModels[model];
    if (claudeModel && isInstanceAvailable(instance, config))
      return { kind: 'claudebox', instance, claudeModel };
  }
  return undefined;
}

/**
 * Who is calling the OpenAI paths. A claudebox caller acts on each instance it may use as
 * that instance's user (LITELLM_MASTER_KEY: both, as `claudebox` and `claudebox-zai`).
 */
export type Caller =
  | { kind: 'claude-ops' }
  | { kind: 'claudebox'; principals: ReadonlyMap<ClaudeboxInstance, Principal> };

export interface ModelEntry {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

// A fixed date, so the list is stable across restarts (clients cache it).
const CREATED_S = 1_735_689_600;

/** Every model this caller may use; `isChatEnabled` adds claude-ops for anonymous probes too. */
export function modelsFor(caller: Caller | undefined, isChatEnabled: boolean, config: Config): ModelEntry[] {
  const ids = new Set<string>();
  if (isChatEnabled && (caller === undefined || caller.kind === 'claude-ops')) ids.add(CLAUDE_OPS_MODEL);
  if (caller?.kind === 'claudebox') {
    for (const [instance, principal] of caller.principals) {
      if (!isInstanceAvailable(instance, config)) continue;
      for (const [id, claudeModel] of Object.entries(instance.openAiModels)) {
        // A key limited to some models lists only those (the run guard refuses the rest).
        if (isModelAllowed(principal.scope, claudeModel)) ids.add(id);
      }
    }
  }
  return [...ids].map((id) => ({
    id,
    object: 'model',
    created: CREATED_S,
    owned_by: id === CLAUDE_OPS_MODEL ? 'claude-ops' : 'claudebox',
  }));
}
