import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../auth/principal.ts';
import { runStampOf } from '../../auth/scope.ts';
import type { PromptImage, RunSpec } from '../../engine/spec.ts';
import { AppError } from '../../errors.ts';
import { authenticatedCaller } from '../../http/auth-first.ts';
import { clientGoneSignal } from '../../http/client-gone.ts';
import type { AppDeps } from '../../http/surface.ts';
import { userWorkspace } from '../../workspaces/owners.ts';
import { engineWorkspace } from '../claudebox/auth.ts';
import { SESSION_KIND } from '../claudebox/run-request.ts';
import { callerOf } from './auth.ts';
import { completeRun, newCompletionMeta, streamRun } from './completion.ts';
import { OpenAiError } from './errors.ts';
import { type Caller, CLAUDE_OPS_MODEL, type Flavour, flavourOf } from './models.ts';
import {
  assertSupported,
  type ChatBody,
  claudeboxOptions,
  jsonSchemaOf,
  lastUserImages,
  lastUserPrompt,
  modelNamed,
  parseChatBody,
} from './request.ts';

/** Seed 000's chat app calls this path; the claude-ops flavour is served there. */
export const CLAUDE_OPS_PATH = '/v1/chat/completions';

/**
 * The caller of a chat completion, from its headers alone: it runs on `onRequest`, so an
 * unauthenticated body is refused before it is read. Seed 000 answers "disabled" before it
 * checks a key: with the claude-ops chat off, a keyless call to its `/v1` path gets the 503.
 */
export function chatCaller(deps: AppDeps, path: string) {
  return async (req: FastifyRequest): Promise<Caller> => {
    const caller = await callerOf(deps, req);
    if (caller) return caller;
    if (path === CLAUDE_OPS_PATH && !deps.config.current().CLAUDEOPS_CHAT_API_KEY) throw chatDisabled();
    throw invalidApiKey();
  };
}

/** POST …/chat/completions on every OpenAI path: flavour by model, one run, rendered. */
export async function handleChatCompletion(
  deps: AppDeps,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<unknown> {
  const caller = authenticatedCaller<Caller>(req);
  const named = modelNamed(req.body);
  // Seed 000's order: disabled, then key, then body. A body whose model cannot be read is
  // judged by claude-ops' rules unless a claudebox credential says otherwise.
  const isClaudeOps = named === CLAUDE_OPS_MODEL || (named === undefined && caller.kind !== 'claudebox');
  if (isClaudeOps) {
    if (!deps.config.current().CLAUDEOPS_CHAT_API_KEY) throw chatDisabled();
    if (caller.kind !== 'claude-ops') throw invalidApiKey();
  }
  const body = parseChatBody(req.body);
  const flavour = flavourOf(body.model, deps.config.current());
  const principal =
    flavour?.kind === 'claudebox' && caller.kind === 'claudebox'
      ? caller.principals.get(flavour.instance)
      : undefined;
  if (!flavour || flavour.kind !== caller.kind || (flavour.kind === 'claudebox' && !principal)) {
    throw new OpenAiError(
      'not_found',
      'model_not_found',
      `The model \`${body.model}\` does not exist or you do not have access to it.`,
    );
  }
  assertSupported(body);
  const jsonSchema = jsonSchemaOf(body);
  const prompt = lastUserPrompt(body);
  const images = lastUserImages(body);
  const maxChars = deps.config.current().MAX_PROMPT_CHARS;
  if (prompt.length > maxChars) {
    throw new OpenAiError(
      'invalid_request',
      'invalid_request',
      `prompt is longer than ${maxChars} characters`,
    );
  }
  const signal = clientGoneSignal(req, reply);
  const meta = newCompletionMeta(body.model);
  const run =
    principal && flavour.kind === 'claudebox'
      ? await deps.engine.submit(
          {
            ...claudeboxSpec(req, body, principal, flavour, prompt),
            ...(jsonSchema ? { jsonSchema } : {}),
            ...(images.length ? { images } : {}),
          },
          { signal },
        )
      : await submitClaudeOps(deps, prompt, signal, { jsonSchema, images });
  // Set before anything is written: a stream's headers leave at once with it, so a client can
  // follow the run on /api/v1 while it goes on.
  reply.header('x-run-id', run.id);
  if (body.stream) return streamRun(deps, reply, run.id, meta, body.stream_options?.include_usage === true);
  return completeRun(deps, run.id, meta);
}

/**
 * Seed 000's "a session is already running" limit: up to CLAUDEOPS_CHAT_MAX_SESSIONS
 * claude-ops runs at once, each in a workspace of its own (slot i). A slot is busy while
 * the engine has a run in its workspace; the engine's workspace lock decides between two
 * requests arriving together (the loser gets `conflict` and tries the next slot).
 */
async function submitClaudeOps(
  deps: AppDeps,
  prompt: string,
  signal: AbortSignal,
  extra: { jsonSchema: Record<string, unknown> | undefined; images: PromptImage[] },
): Promise<{ id: string }> {
  const max = deps.config.current().CLAUDEOPS_CHAT_MAX_SESSIONS;
  const active = await deps.engine.list({ state: 'active', owner: CLAUDE_OPS_OWNER });
  const busy = new Set(active.map((r) => r.workspace));
  for (let slot = 0; slot < max; slot += 1) {
    const workspace = userWorkspace(CLAUDE_OPS_OWNER, slot === 0 ? 'chat' : `chat-${slot}`);
    if (busy.has(workspace)) continue;
    try {
      return await deps.engine.submit(
        // No session: seed 000's chat is stateless, every message is a fresh agent session.
        {
          owner: CLAUDE_OPS_OWNER,
          workspace,
          prompt,
          onBusy: 'conflict',
          ...(extra.jsonSchema ? { jsonSchema: extra.jsonSchema } : {}),
          ...(extra.images.length ? { images: extra.images } : {}),
        },
        { signal },
      );
    } catch (err) {
      if (err instanceof AppError && err.code === 'conflict') continue;
      throw err;
    }
  }
  throw new OpenAiError(
    'busy',
    'rate_limit_exceeded',
    'A session is already running. Try again shortly.',
    'rate_limit_error',
    2,
  );
}

const CLAUDE_OPS_OWNER = 'claude-ops';

/**
 * claudebox's own mapping, imported so the two can never drift: user U's workspace W is
 * `users/U/W`, and its named session is the one <prefix>/run continues; the model's
 * instance names the provider.
 */
function claudeboxSpec(
  req: FastifyRequest,
  body: ChatBody,
  principal: Principal,
  flavour: Extract<Flavour, { kind: 'claudebox' }>,
  prompt: string,
): RunSpec {
  const opts = claudeboxOptions(req, body);
  const { provider } = flavour.instance;
  return {
    owner: principal.userId,
    ...runStampOf(principal),
    workspace: engineWorkspace(principal, opts.workspace),
    prompt,
    model: flavour.claudeModel,
    ...(provider !== 'anthropic' ? { provider } : {}),
    appendSystemPrompt: opts.appendSystemPrompt,
    session: { kind: SESSION_KIND, name: opts.workspace, mode: opts.isContinue ? 'continue' : 'fresh' },
    onBusy: 'conflict',
  };
}

function chatDisabled(): AppError {
  return new OpenAiError('disabled', 'chat_endpoint_disabled', 'The chat endpoint is disabled');
}

function invalidApiKey(): AppError {
  return new OpenAiError('unauthorized', 'invalid_api_key', 'Missing or invalid API key');
}
