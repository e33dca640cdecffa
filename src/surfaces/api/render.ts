import type { RunPosition, RunSummary } from '../../engine/port.ts';
import type { RunRecord } from '../../engine/record.ts';
import { AppError } from '../../errors.ts';
import type { WebhookDelivery } from '../../webhooks/types.ts';
import type { ApiRun } from './schemas.ts';

function iso(ms: number): string;
function iso(ms: number | undefined): string | null;
function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

/**
 * A run's workspace as its owner names it: `users/<owner>/x` → `x`, the owner's root → ``
 * (claude-code-api's session runs). The same for every viewer, so a webhook body and an
 * admin's view of a run say what its owner's GET says.
 */
export function workspaceForOwner(owner: string, engineWorkspace: string): string {
  const root = `users/${owner}`;
  if (engineWorkspace === root) return '';
  return engineWorkspace.startsWith(`${root}/`) ? engineWorkspace.slice(root.length + 1) : engineWorkspace;
}

/** The API's run: GET /api/v1/runs/:id, the cancel answer and the webhook body. */
export function renderRun(record: RunRecord): ApiRun {
  const r = record.result;
  return {
    id: record.id,
    owner: record.owner,
    status: record.status,
    workspace: workspaceForOwner(record.owner, record.workspace),
    prompt: record.spec.prompt,
    model: record.spec.model ?? null,
    sessionId: r?.sessionId ?? null,
    tier: record.tier,
    sandbox: record.sandbox ?? null,
    node: record.node || null,
    createdAt: iso(record.createdAt),
    startedAt: iso(record.startedAt),
    finishedAt: iso(record.finishedAt),
    timings: {
      queuedMs: record.startedAt === undefined ? null : record.startedAt - record.createdAt,
      runMs:
        record.startedAt === undefined || record.finishedAt === undefined
          ? null
          : record.finishedAt - record.startedAt,
    },
    result: r
      ? {
          subtype: r.subtype,
          isError: r.isError,
          text: r.text,
          ...(r.structuredOutput !== undefined ? { structuredOutput: r.structuredOutput } : {}),
          numTurns: r.numTurns,
        }
      : null,
    usage: r ? { ...r.usage } : null,
    costUsd: r ? r.totalCostUsd : null,
    error: record.error ?? null,
  };
}

export function renderSummary(s: RunSummary) {
  return {
    id: s.id,
    owner: s.owner,
    status: s.status,
    workspace: workspaceForOwner(s.owner, s.workspace),
    promptExcerpt: s.promptExcerpt,
    createdAt: iso(s.createdAt),
    startedAt: iso(s.startedAt),
    finishedAt: iso(s.finishedAt),
  };
}

export function renderDelivery(d: WebhookDelivery) {
  return {
    id: d.id,
    url: d.url,
    state: d.state,
    createdAt: iso(d.createdAt),
    nextAttemptAt: iso(d.nextAttemptAt),
    attempts: d.attempts.map((a) => ({
      attempt: a.attempt,
      at: iso(a.at),
      httpStatus: a.httpStatus ?? null,
      error: a.error ?? null,
      responseExcerpt: a.responseExcerpt ?? null,
      durationMs: a.durationMs,
    })),
  };
}

/**
 * The list cursor is opaque to callers: the last run's position, base64url JSON. Decoding
 * checks its shape, so a forged cursor can only move the page, never widen the filter.
 */
export function encodeCursor(p: RunPosition): string {
  return Buffer.from(JSON.stringify([p.createdAt, p.id])).toString('base64url');
}

export function decodeCursor(cursor: string): RunPosition {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && Number.isSafeInteger(v[0]) && typeof v[1] === 'string' && v[1].length <= 100) {
      return { createdAt: v[0] as number, id: v[1] };
    }
  } catch {
    // falls through to the refusal
  }
  throw new AppError('invalid_request', 'cursor is not one this API handed out');
}
