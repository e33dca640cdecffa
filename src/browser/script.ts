import { isDeepStrictEqual } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { BINARY } from './actions/types.ts';
import { type ActionResult, actionNameOf, type RunContext, runAction } from './run-action.ts';
import { type Condition, MAX_TOP_LEVEL_STEPS, parseSteps, type ScriptStep } from './script-tree.ts';

/** All loop bodies of one script together run at most this many steps (the original's bound). */
export const MAX_LOOP_BODY_STEPS = 1_000;
/** However its steps and loops add up, one script holds its replica at most this long. */
export const SCRIPT_BUDGET_MS = 10 * 60_000;
const CONDITION_POLL_MS = 100;

/** Longest YAML script accepted (the surface's body cap bounds it too). */
const MAX_YAML_CHARS = 256 * 1024;

/** run_script's parameters, as the original takes them. */
export const scriptParams = z.object({
  steps: z
    .array(z.looseObject({}))
    .min(1)
    .max(MAX_TOP_LEVEL_STEPS)
    .optional()
    .describe('Action steps ({"action": …, "output_id"?: …}) and control nodes (if / repeat / while)'),
  yaml: z
    .string()
    .max(MAX_YAML_CHARS)
    .optional()
    .describe(
      'The script as YAML, as the original script mode takes it: a document with steps (and name, on_error)',
    ),
  name: z.string().max(200).default('api_script'),
  on_error: z.enum(['stop', 'continue']).default('stop'),
});

type StepResult =
  | { action: string; success: boolean; duration: number; data?: unknown; error?: string; code?: string }
  | { control: 'if'; success: boolean; branch: 'then' | 'else'; results: StepResult[] }
  | { control: 'repeat' | 'while'; success: boolean; iterations: StepResult[][] };

interface Failure {
  result: Extract<ActionResult, { success: false }>;
  /** Where it happened, e.g. "repeat → click". */
  path: string;
}

interface RunState {
  ctx: RunContext;
  onError: 'stop' | 'continue';
  outputs: Record<string, unknown>;
  loopSteps: number;
  endsAt: number;
  firstFailure?: Failure;
  /** Set when the script must end now whatever on_error says (budget spent). */
  isAborted: boolean;
}

/**
 * Runs a script on one replica (the caller already holds it): steps in order, control nodes
 * as the original defines them, `output_id` results collected into `outputs`. With
 * on_error "stop" (default) it ends at the first failure and answers with that step's error;
 * with "continue" it runs to the end and answers success with `data.success` false if any
 * step failed, as the original does.
 */
export async function runScript(ctx: RunContext, body: unknown): Promise<ActionResult> {
  const started = Date.now();
  let steps: ScriptStep[];
  let params: z.infer<typeof scriptParams>;
  try {
    const parsed = scriptParams.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new AppError(
        'invalid_request',
        `Invalid run_script: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(),
      );
    }
    params = parsed.data;
    if (params.yaml !== undefined) params = { ...params, ...fromYaml(params.yaml, body) };
    steps = parseSteps(params.steps, 'steps', 0, MAX_TOP_LEVEL_STEPS);
  } catch (err) {
    const e = err as AppError;
    return { success: false, action: 'run_script', code: e.code ?? 'invalid_request', error: e.message };
  }
  const state: RunState = {
    ctx,
    onError: params.on_error,
    outputs: {},
    loopSteps: 0,
    endsAt: started + SCRIPT_BUDGET_MS,
    isAborted: false,
  };
  const stepResults: StepResult[] = [];
  let executed = 0;
  for (const step of steps) {
    executed++;
    stepResults.push(await runStep(step, state, ''));
    if (state.firstFailure && (state.onError === 'stop' || state.isAborted)) break;
  }
  const lastAction = [...stepResults].reverse().find((r) => 'action' in r);
  const data = {
    name: params.name,
    success: !state.firstFailure,
    steps_executed: executed,
    steps_total: steps.length,
    duration: (Date.now() - started) / 1000,
    step_results: stepResults,
    outputs: state.outputs,
    results: stepResults,
    last_result: lastAction,
  };
  const failure = state.firstFailure;
  if (!failure || (state.onError === 'continue' && !state.isAborted))
    return { success: true, action: 'run_script', data };
  return {
    success: false,
    action: 'run_script',
    code: failure.result.code,
    error: `Step ${executed} of ${steps.length} (${failure.path}) failed: ${failure.result.error}`,
    data: { ...data, failed_step: executed, failed_action: failure.result.action },
  };
}

async function runSteps(steps: ScriptStep[], state: RunState, path: string): Promise<StepResult[]> {
  const results: StepResult[] = [];
  for (const step of steps) {
    results.push(await runStep(step, state, path));
    if (state.firstFailure && (state.onError === 'stop' || state.isAborted)) break;
  }
  return results;
}

async function runStep(step: ScriptStep, state: RunState, path: string): Promise<StepResult> {
  const here = (name: string) => (path ? `${path} → ${name}` : name);
  if (step.kind === 'action') return runActionStep(step, state, here(actionNameOf(step.body)));
  if (step.kind === 'repeat' || step.kind === 'while') return runLoop(step, state, here(step.kind));
  try {
    const matched = await waitForCondition(step.condition, step.timeoutS, state);
    const branch = matched ? 'then' : 'else';
    const results = await runSteps(matched ? step.whenTrue : step.whenFalse, state, here(`if.${branch}`));
    return { control: 'if', branch, results, success: results.every((r) => r.success) };
  } catch (err) {
    fail(state, 'if', here('if'), err);
    return { control: 'if', branch: 'else', results: [], success: false };
  }
}

async function runLoop(
  step: Extract<ScriptStep, { kind: 'repeat' | 'while' }>,
  state: RunState,
  path: string,
): Promise<StepResult> {
  const iterations: StepResult[][] = [];
  const result = () => ({
    control: step.kind,
    iterations,
    success: iterations.every((it) => it.every((r) => r.success)),
  });
  const bound = step.kind === 'repeat' ? step.count : step.maxIterations;
  try {
    for (let i = 0; i < bound; i++) {
      if (step.kind === 'while' && !(await waitForCondition(step.condition, step.timeoutS, state)))
        return result();
      iterations.push(await runSteps(step.steps, state, `${path}[${i + 1}]`));
      if (state.firstFailure && (state.onError === 'stop' || state.isAborted)) return result();
    }
    if (step.kind === 'while' && (await waitForCondition(step.condition, 0, state))) {
      throw new Error(`while: the condition still holds after max_iterations (${step.maxIterations})`);
    }
  } catch (err) {
    fail(state, step.kind, path, err);
    return { ...result(), success: false };
  }
  return result();
}

async function runActionStep(
  step: Extract<ScriptStep, { kind: 'action' }>,
  state: RunState,
  path: string,
): Promise<StepResult> {
  const started = Date.now();
  const name = actionNameOf(step.body);
  let result: ActionResult;
  if (Date.now() >= state.endsAt) {
    state.isAborted = true;
    result = failure(name, 'timeout', `the script ran out of its ${SCRIPT_BUDGET_MS / 1000} s budget`);
  } else if (path.includes('[') && ++state.loopSteps > MAX_LOOP_BODY_STEPS) {
    // Inside a loop body (its path carries an iteration number like "repeat[3]").
    state.isAborted = true;
    result = failure(
      name,
      'invalid_request',
      `loop bodies ran more than ${MAX_LOOP_BODY_STEPS} steps in all`,
    );
  } else {
    result = await runAction(state.ctx, step.body);
  }
  const duration = (Date.now() - started) / 1000;
  if (!result.success) {
    state.firstFailure ??= { result, path };
    return { action: name, success: false, duration, error: result.error, code: result.code };
  }
  if (step.outputId !== undefined) state.outputs[step.outputId] = outputOf(result.data);
  // Named as the caller wrote it ("eval", not its canonical "eval_js").
  return { action: name, success: true, duration, data: result.data };
}

/** What output_id collects: the step's data, or for a screenshot the PNG as a data URI (as the original). */
function outputOf(data: unknown): unknown {
  const binary = (data as { [BINARY]?: Buffer } | null)?.[BINARY];
  return binary ? `data:image/png;base64,${binary.toString('base64')}` : data;
}

function failure(action: string, code: 'timeout' | 'invalid_request', error: string): ActionResult {
  return { success: false, action, code, error };
}

function fail(state: RunState, control: string, path: string, err: unknown): void {
  const code = err instanceof AppError ? err.code : 'action_failed';
  const error = (err as Error)?.message?.split('\n')[0] ?? String(err);
  state.firstFailure ??= { result: { success: false, action: control, code, error }, path };
}

/** Evaluates a condition, polling up to `timeoutS` for it to become true. */
async function waitForCondition(condition: Condition, timeoutS: number, state: RunState): Promise<boolean> {
  const until = Math.min(Date.now() + timeoutS * 1000, state.endsAt);
  for (;;) {
    if (await holds(condition, state)) return true;
    if (Date.now() + CONDITION_POLL_MS > until) return false;
    await new Promise((resolve) => setTimeout(resolve, CONDITION_POLL_MS));
  }
}

async function holds(condition: Condition, state: RunState): Promise<boolean> {
  const page = state.ctx.session.page;
  switch (condition.type) {
    case 'element': {
      const matches = page.locator(condition.selector);
      const count = await matches.count();
      if (condition.state === 'attached') return count > 0;
      if (condition.state === 'detached') return count === 0;
      const isVisible = count > 0 && (await matches.first().isVisible());
      return condition.state === 'visible' ? isVisible : !isVisible;
    }
    case 'text':
      return page.evaluate((t) => document.body?.innerText.includes(t) ?? false, condition.text);
    case 'url':
      return globToRegExp(condition.matches).test(page.url());
    case 'javascript': {
      const value = await page.evaluate(condition.expression);
      if (typeof value !== 'boolean') {
        throw new Error(
          `javascript condition must evaluate to true or false, got ${JSON.stringify(value) ?? 'undefined'}`,
        );
      }
      return value;
    }
    case 'output': {
      const found = lookup(state.outputs, [condition.output_id, ...condition.path]);
      if (condition.exists !== undefined) return found.isFound === condition.exists;
      return found.isFound && isDeepStrictEqual(found.value, condition.equals);
    }
    case 'all':
      for (const c of condition.conditions) if (!(await holds(c, state))) return false;
      return true;
    case 'any':
      for (const c of condition.conditions) if (await holds(c, state)) return true;
      return false;
    case 'not':
      return !(await holds(condition.condition, state));
  }
}

function lookup(root: unknown, path: Array<string | number>): { isFound: boolean; value?: unknown } {
  let value = root;
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return { isFound: false };
    value = (value as Record<string | number, unknown>)[key];
  }
  return { isFound: true, value };
}

/** fnmatch-style: `*` any run of characters, `?` one character; everything else literal. */
function globToRegExp(glob: string): RegExp {
  const source = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*+/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`);
}

/** One request body: a run_script or a single atomic action. */
export function runRequest(ctx: RunContext, body: unknown): Promise<ActionResult> {
  return actionNameOf(body) === 'run_script' ? runScript(ctx, body) : runAction(ctx, body);
}

/**
 * A YAML script as the original's script mode writes it (`name`, `on_error`, `steps`), or a
 * bare list of steps. Fields the request names itself win. `${env.…}` placeholders are left
 * as they are: the server's environment holds secrets, and is no caller's to read.
 */
function fromYaml(text: string, body: unknown): Partial<z.infer<typeof scriptParams>> {
  let doc: unknown;
  try {
    // No custom tags, few aliases: a small document cannot expand into a huge one.
    doc = parseYaml(text, { maxAliasCount: 50, strict: true });
  } catch (err) {
    throw new AppError(
      'invalid_request',
      `Invalid run_script yaml: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  const script = Array.isArray(doc) ? { steps: doc } : doc;
  const parsed = scriptParams.omit({ yaml: true }).partial().safeParse(script);
  if (!parsed.success || !parsed.data.steps) {
    const issue = parsed.success ? undefined : parsed.error.issues[0];
    throw new AppError(
      'invalid_request',
      `Invalid run_script yaml: ${issue ? `${issue.path.join('.')} ${issue.message}` : 'it has no steps'}`,
    );
  }
  const own = (body ?? {}) as Record<string, unknown>;
  return {
    steps: parsed.data.steps,
    ...(own.name === undefined && parsed.data.name !== undefined ? { name: parsed.data.name } : {}),
    ...(own.on_error === undefined && parsed.data.on_error !== undefined
      ? { on_error: parsed.data.on_error }
      : {}),
  };
}
