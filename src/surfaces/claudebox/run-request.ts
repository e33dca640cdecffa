import { z } from 'zod';
import type { Principal } from '../../auth/principal.ts';
import { runStampOf } from '../../auth/scope.ts';
import type { Config } from '../../config/index.ts';
import type { RunSpec } from '../../engine/spec.ts';
import { AppError } from '../../errors.ts';
import { engineWorkspace } from './auth.ts';
import { type ClaudeboxInstance, instanceModel, isInstanceAvailable } from './instances.ts';
import { parseJsonSchemaText } from './json-schema.ts';

/** The options of one claudebox run, as /claudebox/run and the MCP `claude_run` tool take them. */
export const runOptionsShape = {
  prompt: z.string().min(1).describe('The prompt to send to Claude Code'),
  workspace: z
    .string()
    .optional()
    .describe(
      'Workspace name (e.g. "myproject" or "team/app"); each has its own files and conversation. Default "default"',
    ),
  model: z.string().optional().describe('haiku, sonnet, opus, or a full model name'),
  systemPrompt: z.string().optional().describe('Replaces the default system prompt entirely'),
  appendSystemPrompt: z.string().optional().describe('Appended to the default system prompt'),
  jsonSchema: z
    .string()
    .optional()
    .describe('A JSON Schema, as a JSON string: the result is then JSON text matching it'),
  effort: z.enum(['low', 'medium', 'high', 'max']).optional().describe('Reasoning effort'),
  noContinue: z
    .boolean()
    .optional()
    .describe('Start a fresh conversation instead of continuing the workspace’s previous one'),
  resume: z.string().optional().describe('Resume this session id (one of yours) instead'),
};

export const runBodySchema = z.object({
  ...runOptionsShape,
  outputFormat: z.enum(['json', 'json-verbose']).optional(),
  fireAndForget: z.boolean().optional(),
});

export type RunOptions = z.infer<z.ZodObject<typeof runOptionsShape>>;

/**
 * Named sessions of this kind are keyed by the claudebox workspace name, so every surface
 * speaking of workspace `x` (this one, the OpenAI flavour's X-Claude-Workspace, MCP)
 * continues the same conversation.
 */
export const SESSION_KIND = 'workspace';

/**
 * A claudebox request as an engine RunSpec: one run per workspace, busy → 409 at once. The
 * instance picks the model provider, the default model and the meaning of model aliases.
 */
export function toRunSpec(
  principal: Principal,
  opts: RunOptions,
  config: Config,
  instance: ClaudeboxInstance,
): RunSpec {
  if (opts.prompt.length > config.MAX_PROMPT_CHARS) {
    throw new AppError('invalid_request', `prompt is longer than ${config.MAX_PROMPT_CHARS} characters`);
  }
  if (!isInstanceAvailable(instance, config)) {
    throw new AppError('invalid_request', 'model not available: this instance has no model API configured');
  }
  const name = opts.workspace || 'default';
  const model = instanceModel(instance, opts.model);
  return {
    owner: principal.userId,
    ...runStampOf(principal),
    workspace: engineWorkspace(principal, name),
    prompt: opts.prompt,
    ...(model ? { model } : {}),
    ...(instance.provider !== 'anthropic' ? { provider: instance.provider } : {}),
    ...(opts.systemPrompt !== undefined ? { systemPrompt: opts.systemPrompt } : {}),
    ...(opts.appendSystemPrompt ? { appendSystemPrompt: opts.appendSystemPrompt } : {}),
    ...(opts.jsonSchema ? { jsonSchema: parseJsonSchemaText(opts.jsonSchema) } : {}),
    ...(opts.effort ? { effort: opts.effort } : {}),
    session: { kind: SESSION_KIND, name, mode: opts.noContinue ? 'fresh' : 'continue' },
    ...(opts.resume ? { resumeSessionId: opts.resume } : {}),
    onBusy: 'conflict',
  };
}

/** Zod's verdict on a body as an AppError naming the first bad field. */
export function parseRunBody(body: unknown): z.infer<typeof runBodySchema> {
  const parsed = runBodySchema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || 'body';
    throw new AppError('invalid_request', `${field}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
