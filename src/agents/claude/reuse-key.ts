import { createHash } from 'node:crypto';
import { tierOf } from '../../engine/tier.ts';
import type { AgentRunRequest } from '../types.ts';
import { credentialKindOf, type ModelAccess } from './environment.ts';

/**
 * Everything fixed when a process starts, plus its owner: a live process only ever serves
 * a later run with the same key, so no two owners share one and no run inherits another's
 * system prompt, schema, memory or tools.
 */
export function reuseKeyOf(req: AgentRunRequest, defaultModel: string, access: ModelAccess): string {
  const credentialKind = credentialKindOf(access);
  return createHash('sha256')
    .update(
      JSON.stringify([
        req.owner,
        req.cwd,
        // The process holds a relay token, never the key: the relay reads the provider's
        // current credential at every call, so a rotated key applies at once. What is fixed
        // at start is the provider and the kind of credential the token imitates.
        req.provider ?? 'anthropic',
        credentialKind,
        req.model ?? defaultModel,
        req.systemPrompt ?? null,
        req.appendSystemPrompt ?? null,
        req.jsonSchema ?? null,
        req.effort ?? null,
        req.userMemory ?? null,
        req.mcpServers ?? null,
        // Tools are fixed at start: an `observe` run never lands on a process with Bash.
        tierOf(req),
      ]),
    )
    .digest('hex');
}

/**
 * A pre-started spare can take cwd, model, appended prompt and effort at claim time, nothing
 * else; its env (model endpoint and key) is the server's own, so another provider's run never
 * takes one. Spares start with every tool (and, sandboxed, the owner's whole root writable),
 * so only a `full` run may take one.
 */
export function isClaimable(req: AgentRunRequest): boolean {
  return (
    (req.provider ?? 'anthropic') === 'anthropic' &&
    req.systemPrompt === undefined &&
    req.jsonSchema === undefined &&
    req.resumeSessionId === undefined &&
    req.mcpServers === undefined &&
    tierOf(req) === 'full'
  );
}
