import type { RunResult, RunStatus } from './events.ts';
import type { RunSpec } from './spec.ts';
import type { RunTier } from './tier.ts';

/** A run as the engine stores it: what was asked, where it stands, and how it ended. */
export interface RunRecord {
  id: string;
  owner: string;
  workspace: string;
  status: RunStatus;
  spec: RunSpec;
  result: RunResult | undefined;
  error: string | undefined;
  createdAt: number;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  /** The sandbox the agent ran under (`bwrap` or `none`). */
  sandbox?: string;
  /** The permission tier the run's agent ran at (runs from before tiers had every tool: `full`). */
  tier: RunTier;
  /** The node (NODE_ID) that executed the run, once it started. */
  node?: string;
}
