import type { FastifyInstance } from 'fastify';
import { authenticateFirst } from '../../http/auth-first.ts';
import { prepareErrorReply, toAppError } from '../../http/errors.ts';
import type { AppDeps, Surface } from '../../http/surface.ts';
import { CLAUDEBOX_INSTANCES } from '../claudebox/instances.ts';
import { callerOf } from './auth.ts';
import { chatCaller, handleChatCompletion } from './chat.ts';
import { OpenAiError, renderOpenAiError } from './errors.ts';
import { modelsFor } from './models.ts';
import { parseChatBodies } from './request.ts';

const BODY_LIMIT_BYTES = 16 * 1024 * 1024;

/** Each claudebox instance's own OpenAI base URL (seed 002: `/claudebox/openai/v1`, `/claudebox-zai/openai/v1`). */
const INSTANCE_PATHS = CLAUDEBOX_INSTANCES.map((i) => `${i.prefix}/openai/v1`);

/**
 * The OpenAI chat protocol at every base URL the seeds use: `/v1` (chat apps, seed 000),
 * `/claudebox/openai/v1` and `/claudebox-zai/openai/v1` (claudebox) and the root (the LiteLLM gateway). Each path serves
 * every model its caller may use; the model picks the flavour (see models.ts).
 */
export const openAiSurface: Surface = async (app, deps) => {
  parseChatBodies(app, BODY_LIMIT_BYTES);
  app.setErrorHandler((err, req, reply) => {
    const appErr = toAppError(err, req);
    prepareErrorReply(appErr, reply);
    const rendered = renderOpenAiError(appErr);
    return reply.status(rendered.status).send(rendered.body);
  });
  // Shared by all paths: the claude-ops limit is about runs, whichever URL started them.
  for (const prefix of ['/v1', ...INSTANCE_PATHS, '']) {
    const path = `${prefix}/chat/completions`;
    app.post(path, { onRequest: authenticateFirst(chatCaller(deps, path)) }, (req, reply) =>
      handleChatCompletion(deps, req, reply),
    );
  }
  registerModelRoutes(app, deps);
  // LiteLLM's liveness probe: no auth, no engine state, just "the process answers".
  app.get('/health/liveliness', async () => "I'm alive!");
};

function registerModelRoutes(app: FastifyInstance, deps: AppDeps): void {
  // Seed 000: chat apps probe /v1/models before asking for a key, so it answers anyone;
  // a valid claudebox credential adds its models.
  app.get('/v1/models', async (req) => {
    const caller = await callerOf(deps, req);
    return { object: 'list', data: modelsFor(caller, isChatEnabled(deps), deps.config.current()) };
  });
  for (const path of [...INSTANCE_PATHS.map((p) => `${p}/models`), '/models']) {
    app.get(path, async (req) => {
      const caller = await callerOf(deps, req);
      if (!caller) throw new OpenAiError('unauthorized', 'invalid_api_key', 'Missing or invalid API key');
      return { object: 'list', data: modelsFor(caller, isChatEnabled(deps), deps.config.current()) };
    });
  }
}

function isChatEnabled(deps: AppDeps): boolean {
  return Boolean(deps.config.current().CLAUDEOPS_CHAT_API_KEY);
}
