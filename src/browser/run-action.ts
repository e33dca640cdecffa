import { errors } from 'playwright-core';
import { AppError, type ErrorCode } from '../errors.ts';
import { findAction } from './actions/registry.ts';
import type { ActionContext } from './actions/types.ts';

/** `action_failed`: the request was fine but the page would not do it (no such element, script threw…). */
export type FailureCode = ErrorCode | 'action_failed';

export type ActionResult =
  | { success: true; action: string; data: unknown }
  | { success: false; action: string; error: string; code: FailureCode; data?: unknown };

export interface RunContext extends ActionContext {
  /** Called when an action overran its deadline: the page may be stuck and must be replaced. */
  markBroken(): void;
}

/** Grace over the action timeout before we stop waiting on Playwright itself (e.g. an endless script). */
const DEADLINE_GRACE_MS = 2_000;

/** Runs one atomic action `{action, …params}` and reports its outcome; never throws. */
export async function runAction(ctx: RunContext, step: unknown): Promise<ActionResult> {
  const name = actionNameOf(step);
  const action = findAction(name);
  if (!action) return failure(name, 'invalid_request', `Unknown action: ${name || '(none)'}`);
  const parsed = action.params.safeParse(step);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    return failure(
      action.name,
      'invalid_request',
      `Invalid parameters for ${action.name}: ${where}${issue?.message}`,
    );
  }
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ctx.markBroken();
      reject(new AppError('timeout', `${action.name} did not finish within ${ctx.timeoutMs} ms`));
    }, ctx.timeoutMs + DEADLINE_GRACE_MS);
  });
  try {
    // The active tab at this step (an earlier step of a script may have switched tabs).
    const data = await Promise.race([action.run({ ...ctx, page: ctx.session.page }, parsed.data), deadline]);
    return { success: true, action: action.name, data };
  } catch (err) {
    return failureOf(action.name, err);
  } finally {
    clearTimeout(timer);
  }
}

export function actionNameOf(step: unknown): string {
  const name = (step as { action?: unknown } | null)?.action;
  return typeof name === 'string' ? name : '';
}

function failure(action: string, code: FailureCode, error: string): ActionResult {
  return { success: false, action, code, error };
}

function failureOf(action: string, err: unknown): ActionResult {
  if (err instanceof AppError) return failure(action, err.code, err.message);
  if (err instanceof errors.TimeoutError) return failure(action, 'timeout', firstLine(err.message));
  const message = firstLine((err as Error)?.message ?? String(err));
  // A crashed or closed page surfaces as a Playwright error; the replica replaces it afterwards.
  if (/Target crashed|Target page, context or browser has been closed/i.test(message)) {
    return failure(action, 'unavailable', `The page crashed and is being replaced: ${message}`);
  }
  return failure(action, 'action_failed', message);
}

/** Playwright appends a multi-line call log; the first line is the reason. */
function firstLine(message: string): string {
  return message.split('\n')[0]?.trim() ?? message;
}
