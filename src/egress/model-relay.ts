import { createHash, randomBytes } from 'node:crypto';
import {
  type ClientRequest,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from 'pino';
import { credentialKindOf, type ModelAccess } from '../agents/claude/environment.ts';
import type { ModelCall } from '../engine/events.ts';

/**
 * The credential an agent process holds instead of the real one: a random token the relay
 * accepts only while a run is active on that process. Its kind mirrors the upstream's
 * (an API key or an OAuth bearer), so Claude Code sends exactly the headers it would send
 * to the real endpoint, and the relay swaps in the real credential.
 */
export interface RelayGrant {
  token: string;
  kind: 'api_key' | 'oauth';
  /**
   * Starts accepting the token for one run; calls are collected until `end`, and each is
   * also handed to `onCall` as soon as its answer has been relayed (budgets stop runs there).
   */
  begin(onCall?: (call: ModelCall) => void): void;
  /** Stops accepting the token; returns the calls made while it was active. */
  end(): ModelCall[];
  /** Forgets the token for good (its process is gone). */
  revoke(): void;
}

interface GrantState {
  access: () => ModelAccess;
  isActive: boolean;
  calls: ModelCall[];
  onCall: ((call: ModelCall) => void) | undefined;
  /** Upstream calls in flight: cut when the run ends, so none outlives its run. */
  inflight: Set<ClientRequest>;
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'x-api-key',
  'authorization',
]);

/** Largest non-streaming answer body kept to read its usage from (the rest streams through uncounted). */
const MAX_USAGE_BODY_BYTES = 4 * 1024 * 1024;

/**
 * The agents' model endpoint. An agent never holds the operator's model credential: its
 * ANTHROPIC_BASE_URL points here with a per-process token, and this relay forwards each
 * call to the real upstream (Anthropic, an OAuth subscription, Z.ai, any base URL) with the
 * real credential, streaming the answer back byte for byte and reading the usage from it.
 */
export class ModelRelay {
  readonly #grants = new Map<string, GrantState>();

  constructor(private readonly logger: Logger) {}

  /** A token for one agent process; `access` is read at every call, so rotated keys apply at once. */
  grant(access: () => ModelAccess): RelayGrant {
    const token = `agentgate-run-${randomBytes(24).toString('base64url')}`;
    const key = hashToken(token);
    const state: GrantState = { access, isActive: false, calls: [], onCall: undefined, inflight: new Set() };
    this.#grants.set(key, state);
    const kind = credentialKindOf(access());
    return {
      token,
      kind,
      begin: (onCall) => {
        state.calls = [];
        state.onCall = onCall;
        state.isActive = true;
      },
      end: () => {
        state.isActive = false;
        state.onCall = undefined;
        for (const r of state.inflight) r.destroy();
        state.inflight.clear();
        const calls = state.calls;
        state.calls = [];
        return calls;
      },
      revoke: () => {
        state.isActive = false;
        for (const r of state.inflight) r.destroy();
        this.#grants.delete(key);
      },
    };
  }

  /** Handles one request from an agent (any path of the Anthropic API). */
  handle(req: IncomingMessage, res: ServerResponse): void {
    const path = allowedPath(req);
    if (!path) {
      req.resume();
      sendAnthropicError(
        res,
        403,
        'permission_error',
        'agents may call only POST /v1/messages and /v1/messages/count_tokens',
      );
      return;
    }
    const state = this.#grants.get(hashToken(presentedToken(req)));
    if (!state?.isActive) {
      req.resume();
      sendAnthropicError(res, 401, 'authentication_error', 'this run token is not valid (its run has ended)');
      return;
    }
    let access: ModelAccess;
    try {
      access = state.access();
    } catch (err) {
      req.resume();
      sendAnthropicError(res, 503, 'api_error', (err as Error).message);
      return;
    }
    const target = upstreamUrl(access.baseUrl, req.url ?? '/');
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
    }
    if (access.apiKey) headers['x-api-key'] = access.apiKey;
    else if (access.oauthToken) headers.authorization = `Bearer ${access.oauthToken}`;
    const isMessages = path === '/v1/messages';
    const send = target.startsWith('https:') ? httpsRequest : httpRequest;
    const upstream = send(target, { method: req.method, headers }, (up) => {
      const outHeaders: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(up.headers)) {
        if (
          value !== undefined &&
          name !== 'connection' &&
          name !== 'keep-alive' &&
          name !== 'transfer-encoding'
        )
          outHeaders[name] = value;
      }
      res.writeHead(up.statusCode ?? 502, outHeaders);
      const meter = isMessages ? new UsageMeter(String(up.headers['content-type'] ?? '')) : undefined;
      up.on('data', (chunk: Buffer) => {
        meter?.push(chunk);
        res.write(chunk);
      });
      up.on('end', () => {
        res.end();
        if (meter && state.isActive) {
          const call = meter.call(up.statusCode ?? 0);
          state.calls.push(call);
          try {
            state.onCall?.(call);
          } catch (err) {
            this.logger.error({ err }, 'model relay: the run’s call observer failed');
          }
        }
      });
      up.on('error', () => res.destroy());
    });
    state.inflight.add(upstream);
    upstream.once('close', () => state.inflight.delete(upstream));
    upstream.on('error', (err) => {
      this.logger.warn({ err: err.message, host: new URL(target).host }, 'model relay: upstream unreachable');
      if (!res.headersSent) sendAnthropicError(res, 502, 'api_error', 'the model endpoint is unreachable');
      else res.destroy();
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }
}

/**
 * The API paths an agent needs, exactly. Anything else would let an agent use the real
 * credential for what it was never lent for: minting API keys with an OAuth token, reading
 * the organisation's files, unmetered batches. Dot segments, doubled slashes and escapes
 * are refused rather than normalised, so what is checked is what is sent.
 */
const RELAYED_PATHS = new Set(['/v1/messages', '/v1/messages/count_tokens']);

function allowedPath(req: IncomingMessage): string | undefined {
  if (req.method !== 'POST') return undefined;
  const raw = req.url ?? '';
  const path = raw.split('?')[0] ?? '';
  return RELAYED_PATHS.has(path) ? path : undefined;
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function presentedToken(req: IncomingMessage): string {
  const apiKey = req.headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey) return apiKey;
  const auth = req.headers.authorization ?? '';
  return auth.startsWith('Bearer ') ? auth.slice(7).trim() : '';
}

function upstreamUrl(baseUrl: string | undefined, path: string): string {
  const base = (baseUrl ?? 'https://api.anthropic.com').replace(/\/+$/, '');
  return `${base}${path.startsWith('/') ? path : `/${path}`}`;
}

function sendAnthropicError(res: ServerResponse, status: number, type: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ type: 'error', error: { type, message } }));
}

/**
 * Reads a Messages answer's model and usage as it streams past: from `message_start` and
 * `message_delta` events of an SSE answer, or from the JSON body of a plain one.
 */
class UsageMeter {
  readonly #isSse: boolean;
  #pending = '';
  #body: Buffer[] = [];
  #bodyBytes = 0;
  #model = '';
  #usage = { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };

  constructor(contentType: string) {
    this.#isSse = contentType.includes('text/event-stream');
  }

  push(chunk: Buffer): void {
    if (!this.#isSse) {
      this.#bodyBytes += chunk.length;
      if (this.#bodyBytes <= MAX_USAGE_BODY_BYTES) this.#body.push(chunk);
      return;
    }
    this.#pending += chunk.toString('utf8');
    let nl = this.#pending.indexOf('\n');
    while (nl >= 0) {
      const line = this.#pending.slice(0, nl).trim();
      this.#pending = this.#pending.slice(nl + 1);
      if (line.startsWith('data:')) this.#onEvent(line.slice(5).trim());
      nl = this.#pending.indexOf('\n');
    }
  }

  call(status: number): ModelCall {
    if (!this.#isSse && this.#bodyBytes <= MAX_USAGE_BODY_BYTES)
      this.#onMessage(Buffer.concat(this.#body).toString());
    const u = this.#usage;
    return {
      model: this.#model,
      status,
      inputTokens: u.input_tokens,
      outputTokens: u.output_tokens,
      cacheReadInputTokens: u.cache_read_input_tokens,
      cacheCreationInputTokens: u.cache_creation_input_tokens,
    };
  }

  #onEvent(data: string): void {
    let ev: { type?: string; message?: { model?: string; usage?: object }; usage?: object };
    try {
      ev = JSON.parse(data);
    } catch {
      return;
    }
    if (ev.type === 'message_start' && ev.message) {
      this.#model = ev.message.model ?? this.#model;
      this.#add(ev.message.usage);
    } else if (ev.type === 'message_delta') {
      this.#add(ev.usage);
    }
  }

  #onMessage(text: string): void {
    try {
      const msg = JSON.parse(text) as { model?: string; usage?: object };
      this.#model = msg.model ?? this.#model;
      this.#add(msg.usage);
    } catch {
      // not JSON (an error page): no usage
    }
  }

  /** Usage fields in later events replace earlier ones (message_delta carries the final counts). */
  #add(usage: object | undefined): void {
    if (!usage) return;
    for (const [name, value] of Object.entries(usage)) {
      if (name in this.#usage && typeof value === 'number')
        (this.#usage as Record<string, number>)[name] = value;
    }
  }
}
