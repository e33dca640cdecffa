export type Effort = 'low' | 'medium' | 'high' | 'max';

/**
 * Whose model API the agent talks to. `anthropic` is the server's own model access (API
 * key, OAuth or the fake model); `zai` is Z.ai's Anthropic-compatible endpoint (GLM models).
 */
export type ModelProvider = 'anthropic' | 'zai';

/** An image given with a prompt, as the Messages API takes one. */
export interface PromptImage {
  mediaType: 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp';
  /** Base64 of the image's bytes. */
  data: string;
}

/** A caller's request for one agent run, as every surface builds it. */
export interface RunSpec {
  owner: string;
  /** Workspace name (relative, safe segments); the run's cwd. */
  workspace: string;
  prompt: string;
  /** Images the prompt comes with (base64), shown to the model before the prompt's text. */
  images?: PromptImage[];
  model?: string;
  /** Unset means `anthropic`. */
  provider?: ModelProvider;
  systemPrompt?: string;
  appendSystemPrompt?: string;
  jsonSchema?: Record<string, unknown>;
  effort?: Effort;
  /**
   * A named session to continue (`continue`) or to start over (`fresh`). Resolved when the
   * run starts, so a queued run continues from the run queued before it.
   */
  session?: { kind: string; name: string; mode: 'continue' | 'fresh' };
  /** An explicit agent session id to resume; it must belong to the owner. */
  resumeSessionId?: string;
  forkSession?: boolean;
  timeoutMs?: number;
  /** A busy workspace: queue behind its run (`wait`) or refuse at once (`conflict`). */
  onBusy: 'wait' | 'conflict';
  userMemory?: string;
  // A sandboxed agent reaches these only through the egress proxy: public URLs only.
  mcpServers?: Record<string, { type: 'http'; url: string; headers?: Record<string, string> }>;
  /** The stored key that started the run (usage, budgets and per-key limits count against it). */
  keyId?: string;
  /** The caller's permission tier; unset means `full`. */
  tier?: 'observe' | 'edit' | 'full';
}
