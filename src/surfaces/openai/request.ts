import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { PromptImage } from '../../engine/spec.ts';
import type { AppError } from '../../errors.ts';
import { parseBodiesAsJson } from '../../http/json-body.ts';
import { OpenAiError } from './errors.ts';

/**
 * Stands for a body that is not JSON. Parsing must not fail before the route runs: seed 000
 * answers a missing key (503/401) before it looks at the body, so the route decides.
 */
export const MALFORMED_BODY = Symbol('malformed JSON body');

/** Every body of this scope is JSON whatever its Content-Type (LiteLLM and curl label it loosely). */
export function parseChatBodies(app: FastifyInstance, bodyLimit: number): void {
  parseBodiesAsJson(app, bodyLimit, { malformedAs: MALFORMED_BODY });
}

const contentPart = z.looseObject({
  type: z.string(),
  text: z.string().optional(),
  image_url: z.union([z.string(), z.looseObject({ url: z.string() })]).optional(),
});
const message = z.looseObject({
  role: z.string(),
  content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
});
// temperature, max_tokens, tools, … are accepted and ignored: Claude Code manages them itself.
const chatBody = z.looseObject({
  model: z.string().min(1),
  messages: z.array(message),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  response_format: z
    .looseObject({
      type: z.string(),
      json_schema: z.looseObject({ name: z.string().optional(), schema: z.unknown().optional() }).optional(),
    })
    .nullish(),
  n: z.number().nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().nullish(),
  extra_headers: z.record(z.string(), z.unknown()).nullish(),
});

export type ChatBody = z.infer<typeof chatBody>;

/** The model a body names, if it can be read at all (it picks the flavour and so the auth rules). */
export function modelNamed(body: unknown): string | undefined {
  if (body === MALFORMED_BODY || !body || typeof body !== 'object') return undefined;
  const model = (body as { model?: unknown }).model;
  return typeof model === 'string' ? model : undefined;
}

export function parseChatBody(body: unknown): ChatBody {
  if (body === MALFORMED_BODY) throw invalidRequest('Malformed JSON body');
  const parsed = chatBody.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalidRequest(`Invalid request: ${issue?.path.join('.') || 'body'}: ${issue?.message ?? ''}`);
  }
  return parsed.data;
}

/**
 * What a run cannot honour is refused, in OpenAI's shape, rather than silently answered
 * otherwise: several choices (`n` > 1) and token log-probabilities. Sampling and tool
 * fields (temperature, max_tokens, tools, tool_choice, …) are accepted and ignored, as the
 * original claudebox did: Claude Code manages them itself.
 */
export function assertSupported(body: ChatBody): void {
  if (body.n !== undefined && body.n !== null && body.n !== 1) {
    throw invalidRequest('n > 1 is not supported: an agent run produces one answer');
  }
  if (body.logprobs === true || (body.top_logprobs ?? 0) > 0) {
    throw invalidRequest('logprobs are not supported: the agent does not expose token probabilities');
  }
}

/**
 * `response_format` as the run's JSON-schema output: `json_object` asks for any object,
 * `json_schema` for its `schema`; the answer's content is then the JSON text the agent
 * produced for it. `text` (or none) is a plain answer.
 */
export function jsonSchemaOf(body: ChatBody): Record<string, unknown> | undefined {
  const format = body.response_format;
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'object' };
  if (format.type === 'json_schema') {
    const schema = format.json_schema?.schema;
    if (!schema || typeof schema !== 'object' || Array.isArray(schema)) {
      throw invalidRequest('response_format.json_schema.schema must be a JSON Schema object');
    }
    return schema as Record<string, unknown>;
  }
  throw invalidRequest(`response_format.type must be text, json_object or json_schema, not ${format.type}`);
}

/**
 * The prompt is the last user message only: chat apps resend the whole history each turn,
 * and the agent keeps its own (claudebox continues a session; claude-ops is stateless).
 */
export function lastUserPrompt(body: ChatBody): string {
  const last = [...body.messages].reverse().find((m) => m.role === 'user');
  const content = last?.content;
  const text =
    typeof content === 'string'
      ? content
      : (content ?? [])
          .filter((p) => p.type === 'text' && typeof p.text === 'string')
          .map((p) => p.text)
          .join('\n');
  const hasImage = Array.isArray(content) && content.some((p) => p.type === 'image_url');
  if (!text.trim() && !hasImage) throw invalidRequest('No user message found');
  return text;
}

/** Most images one message may carry, and the largest (the Messages API's own limits). */
const MAX_IMAGES = 20;
const MAX_IMAGE_BASE64_CHARS = Math.ceil((5 * 1024 * 1024 * 4) / 3);
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;

/**
 * The `image_url` parts of the last user message, as images for the agent. Only `data:`
 * URLs: the server fetches nothing on a caller's behalf (a URL would be a way to make it
 * reach the private network).
 */
export function lastUserImages(body: ChatBody): PromptImage[] {
  const last = [...body.messages].reverse().find((m) => m.role === 'user');
  const parts = Array.isArray(last?.content) ? last.content : [];
  const images: PromptImage[] = [];
  for (const part of parts) {
    if (part.type !== 'image_url') continue;
    const url = typeof part.image_url === 'string' ? part.image_url : part.image_url?.url;
    const m = /^data:([a-z]+\/[a-z0-9.+-]+);base64,([A-Za-z0-9+/=\s]+)$/i.exec(url ?? '');
    if (!m?.[1] || !m[2]) {
      throw invalidRequest(
        'image_url must be a data: URL (data:image/png;base64,…); remote images are not fetched',
      );
    }
    const mediaType = m[1].toLowerCase() as PromptImage['mediaType'];
    if (!IMAGE_TYPES.includes(mediaType)) {
      throw invalidRequest(`image type ${mediaType} is not supported (png, jpeg, gif, webp)`);
    }
    const data = m[2].replace(/\s+/g, '');
    if (data.length > MAX_IMAGE_BASE64_CHARS) throw invalidRequest('an image is larger than 5 MB');
    images.push({ mediaType, data });
  }
  if (images.length > MAX_IMAGES) throw invalidRequest(`at most ${MAX_IMAGES} images per message`);
  return images;
}

export interface ClaudeboxOptions {
  /** The caller's workspace subpath (validated by claudebox's mapping); `default` when none is named. */
  workspace: string;
  isContinue: boolean;
  appendSystemPrompt: string | undefined;
}

/** X-Claude-* headers, or the same names in the body's `extra_headers` (LiteLLM's curl sends them there). */
export function claudeboxOptions(req: FastifyRequest, body: ChatBody): ClaudeboxOptions {
  const extra = new Map(
    Object.entries(body.extra_headers ?? {}).map(([k, v]) => [k.toLowerCase(), v] as const),
  );
  const read = (name: string): string | undefined => {
    const header = req.headers[name];
    const value = (Array.isArray(header) ? header[0] : header) ?? extra.get(name);
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
  };
  const workspace = read('x-claude-workspace') ?? 'default';
  return {
    workspace,
    isContinue: /^(1|true|yes)$/i.test(read('x-claude-continue') ?? ''),
    appendSystemPrompt: read('x-claude-append-system-prompt'),
  };
}

function invalidRequest(message: string): AppError {
  return new OpenAiError('invalid_request', 'invalid_request', message);
}
