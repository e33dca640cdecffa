import { z } from 'zod';
import { type ActionResult, actionNameOf, type RunContext, runAction } from './run-action.ts';

export const MAX_SCRIPT_STEPS = 100;

/** run_script's parameters; each step is any atomic action's request body. */
export const scriptParams = z.object({
  steps: z
    .array(z.looseObject({ action: z.string().min(1) }))
    .min(1)
    .max(MAX_SCRIPT_STEPS),
});

/**
 * Runs steps in order on one replica (the caller already holds it), stopping at the first
 * failure. The failure says which step (1-based) and carries the results so far.
 */
export async function runScript(ctx: RunContext, body: unknown): Promise<ActionResult> {
  const parsed = scriptParams.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      success: false,
      action: 'run_script',
      code: 'invalid_request',
      error: `Invalid run_script: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(),
    };
  }
  const { steps } = parsed.data;
  const results: ActionResult[] = [];
  for (const [i, step] of steps.entries()) {
    const result =
      step.action === 'run_script'
        ? ({
            success: false,
            action: 'run_script',
            code: 'invalid_request',
            error: 'run_script cannot be nested',
          } as const)
        : await runAction(ctx, step);
    results.push(result);
    if (!result.success) {
      return {
        success: false,
        action: 'run_script',
        code: result.code,
        error: `Step ${i + 1} of ${steps.length} (${result.action}) failed: ${result.error}`,
        data: { failed_step: i + 1, failed_action: result.action, steps_executed: i + 1, results },
      };
    }
  }
  return {
    success: true,
    action: 'run_script',
    data: { steps_executed: steps.length, results, last_result: results.at(-1) },
  };
}

/** One request body: a run_script or a single atomic action. */
export function runRequest(ctx: RunContext, body: unknown): Promise<ActionResult> {
  return actionNameOf(body) === 'run_script' ? runScript(ctx, body) : runAction(ctx, body);
}
