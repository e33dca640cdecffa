import { AppError } from '../errors.ts';
import type { RunSpec } from './spec.ts';

/**
 * A run's permission tier: what its agent may do, whatever its prompt says.
 * - `observe`: read the workspace (Read, Grep, Glob, LS); no web tools, no writes, no shell.
 * - `edit`: observe + Write, Edit, NotebookEdit.
 * - `full`: every tool, Bash included (the default).
 * Enforced by the backend (the agent's own tool options, and under the sandbox a read-only
 * workspace for `observe`), never by instructions to the model.
 */
export type RunTier = NonNullable<RunSpec['tier']>;

export const RUN_TIERS: readonly RunTier[] = ['observe', 'edit', 'full'];

/** The tier a spec runs at: unset means `full` (what every run had before tiers). */
export function tierOf(spec: Pick<RunSpec, 'tier'>): RunTier {
  return spec.tier ?? 'full';
}

export function isRunTier(value: unknown): value is RunTier {
  return typeof value === 'string' && (RUN_TIERS as readonly string[]).includes(value);
}

/**
 * Refuses a spec whose tier is unknown, or that asks for what its tier does not allow:
 * MCP servers' tools can do anything their server does, so they need `full`.
 */
export function checkTier(spec: Pick<RunSpec, 'tier' | 'mcpServers'>): void {
  if (spec.tier !== undefined && !isRunTier(spec.tier)) {
    throw new AppError('invalid_request', `tier must be one of ${RUN_TIERS.join(', ')}`);
  }
  if (tierOf(spec) !== 'full' && spec.mcpServers && Object.keys(spec.mcpServers).length > 0) {
    throw new AppError('invalid_request', `MCP servers need the full tier; this run's tier is ${spec.tier}`);
  }
}
