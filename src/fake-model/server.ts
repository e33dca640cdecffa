/**
 * The fake Anthropic Messages API: the routes Claude Code calls, answered from the
 * directives in the prompt (see responder.ts), plus `/_requests` for test assertions.
 */
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { anthropicErrorBody } from './anthropic-errors.ts';
import { type RecordedRequest, RequestRecorder } from './recorder.ts';
import { estimateInputTokens, type MessagesRequest, planReply } from './responder.ts';
import { sleepWithPings, streamMessage } from './sse.ts';

export interface FakeModel {
  url: string;
  port: number;
  requests(): RecordedRequest[];
  clearRequests(): void;
  close(): Promise<void>;
}

export interface FakeModelOptions {
  port?: number;
  host?: string;
}

const CONTROL_PATH = '/_requests';

export async function startFakeModel(options: FakeModelOptions = {}): Promise<FakeModel> {
  const recorder = new RequestRecorder();
  const inFlight = new Set<AbortController>();
  // forceCloseConnections: a long [[sleep]] stream must not hold close() hostage.
  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 64 * 1024 * 1024 });

  // Record whatever arrives, whatever its label: a body that is not JSON is kept as text.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    const text = String(body);
    if (text === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(null, text);
    }
  });

  app.addHook('preHandler', async (request, reply) => {
    if (request.url.split('?')[0] === CONTROL_PATH) return;
    const startedAt = performance.now();
    const recorded = recorder.record({
      method: request.method,
      url: request.url,
      headers: request.headers,
      body: request.body,
    });
    // Its own clock, so a benchmark can tell the model's time from everything around it.
    reply.raw.once('close', () => {
      recorded.answerMs = performance.now() - startedAt;
    });
  });

  app.addHook('preClose', async () => {
    for (const controller of inFlight) controller.abort();
  });

  /** Aborts when the client disconnects before the answer is complete. */
  const abortOnDisconnect = (reply: FastifyReply): AbortController => {
    const controller = new AbortController();
    inFlight.add(controller);
    reply.raw.on('close', () => {
      inFlight.delete(controller);
      if (!reply.raw.writableFinished) controller.abort();
    });
    return controller;
  };

  app.post('/v1/messages', async (request: FastifyRequest, reply: FastifyReply) => {
    const body = asMessagesRequest(request.body);
    if (!body) return reply.code(400).send(anthropicErrorBody(400, 'messages: Field required'));
    const plan = planReply(body);
    const controller = abortOnDisconnect(reply);
    if (plan.kind === 'message' && body.stream === true) {
      reply.hijack();
      await streamMessage(reply.raw, plan.message, { delayMs: plan.delayMs, signal: controller.signal });
      if (!reply.raw.writableEnded) reply.raw.destroy();
      return;
    }
    if (!(await sleepWithPings(plan.delayMs, () => {}, controller.signal))) return reply;
    if (plan.kind === 'error') return reply.code(plan.status).send(anthropicErrorBody(plan.status));
    return reply.send(plan.message);
  });

  app.post('/v1/messages/count_tokens', async (request, reply) => {
    const body = asMessagesRequest(request.body);
    if (!body) return reply.code(400).send(anthropicErrorBody(400, 'messages: Field required'));
    return { input_tokens: estimateInputTokens(body) };
  });

  // Claude Code's connectivity probe (HEAD /api/hello) when non-essential traffic is allowed.
  app.get('/api/hello', async () => ({ message: 'hello' }));

  app.get(CONTROL_PATH, async () => recorder.list());
  app.delete(CONTROL_PATH, async (_request, reply) => {
    recorder.clear();
    return reply.code(204).send();
  });

  // A JSON 404 in Anthropic's shape: Claude Code treats 404 as final, so unknown probes fail fast.
  app.setNotFoundHandler(async (request, reply) =>
    reply
      .code(404)
      .send(anthropicErrorBody(404, `fake model: no route for ${request.method} ${request.url}`)),
  );

  const address = await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' });
  const port = app.server.address();
  const actualPort = typeof port === 'object' && port ? port.port : Number(new URL(address).port);
  const host = options.host ?? '127.0.0.1';
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${urlHost}:${actualPort}`,
    port: actualPort,
    requests: () => recorder.list(),
    clearRequests: () => recorder.clear(),
    close: () => app.close(),
  };
}

function asMessagesRequest(body: unknown): MessagesRequest | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const candidate = body as MessagesRequest;
  return Array.isArray(candidate.messages) ? candidate : undefined;
}
