import { BUILTIN_TOOL_NAMES, type Options } from '@anthropic-ai/claude-agent-sdk';
import type { RunTier } from '../../engine/tier.ts';
import type { AgentRunRequest } from '../types.ts';

/** The tools each restricted tier keeps; `full` keeps Claude Code's whole preset. */
const TIER_TOOLS: Record<Exclude<RunTier, 'full'>, readonly string[]> = {
  // LS is the older CLIs' directory listing; newer ones list with Glob.
  observe: ['Read', 'Grep', 'Glob', 'LS'],
  edit: ['Read', 'Grep', 'Glob', 'LS', 'Write', 'Edit', 'NotebookEdit'],
};

/**
 * Names no restricted tier may use, beyond what the SDK lists as built-in: older spellings
 * (Task was the subagent tool before Agent) and the shell tools of other platforms.
 */
const ALWAYS_DENIED = [
  'Bash',
  'Task',
  'Agent',
  'PowerShell',
  'Skill',
  'WebFetch',
  'WebSearch',
  'KillShell',
  'BashOutput',
];

/** The tools a tier may use, or undefined for `full` (every tool). */
export function toolsOfTier(tier: RunTier): readonly string[] | undefined {
  return tier === 'full' ? undefined : TIER_TOOLS[tier];
}

/**
 * Claude Code's own options that hold a restricted run to its tier. Each layer alone keeps
 * the tools out; together no file the agent can reach or write can bring one back:
 * - `tools`: the base set of built-in tools is exactly the tier's (nothing else is offered
 *   to the model, subagents and skills included: they are tools too);
 * - `disallowedTools`: every other built-in tool as a command-line deny rule, which
 *   settings files cannot lift and which also binds subagents;
 * - `settingSources: []`: no settings file is read, not the workspace's
 *   `.claude/settings.json` (a caller may have put it there), nor the agent home's (an
 *   `edit` agent could write it): no hooks, helper commands, allow rules, custom commands,
 *   MCP configs or plugins from files;
 * - `managedSettings`: the policy tier, above every file: hooks and skills' inline shell
 *   are off, only these deny rules count, should a file be read after all;
 * - `strictMcpConfig` with no MCP servers: a project's `.mcp.json` is ignored too.
 * `full` returns nothing: today's options stand.
 */
export function tierOptions(tier: RunTier): Partial<Options> {
  const allowed = toolsOfTier(tier);
  if (!allowed) return {};
  const denied = [...new Set([...BUILTIN_TOOL_NAMES, ...ALWAYS_DENIED])].filter((t) => !allowed.includes(t));
  return {
    tools: [...allowed],
    disallowedTools: denied,
    settingSources: [],
    strictMcpConfig: true,
    // File tools write only inside the workspace, never a settings file, not even there.
    settings: { permissions: { blockWritesOutsideWorkingDirectories: true } },
    managedSettings: {
      disableAllHooks: true,
      allowManagedHooksOnly: true,
      allowManagedPermissionRulesOnly: true,
      disableSkillShellExecution: true,
      permissions: { deny: denied, blockWritesOutsideWorkingDirectories: true },
    },
  };
}

/** The owner's CLAUDE.md as Claude Code itself frames user memory, for a run that reads no settings. */
function memoryPrompt(userMemory: string): string {
  return `Contents of the user's private global instructions (~/.claude/CLAUDE.md), for all projects:\n\n${userMemory}`;
}

/**
 * The run's system prompt. A restricted tier reads no settings files, so the owner's
 * CLAUDE.md (which Claude Code reads with the user's settings) comes with the prompt.
 */
export function systemPromptOf(req: AgentRunRequest, tier: RunTier): Options['systemPrompt'] {
  const memory = tier !== 'full' && req.userMemory ? memoryPrompt(req.userMemory) : undefined;
  if (req.systemPrompt !== undefined) {
    return memory ? `${req.systemPrompt}\n\n${memory}` : req.systemPrompt;
  }
  const append = [req.appendSystemPrompt, memory].filter(Boolean).join('\n\n');
  return { type: 'preset', preset: 'claude_code', ...(append ? { append } : {}) };
}
