import { AppError } from '../errors.ts';

/**
 * run_script's steps, parsed once into a tree before anything runs, so a malformed node deep
 * in a loop fails the request up front instead of half way through. The rules are the
 * original's (docs/script-mode.md): an action step, or exactly one control node (`if`,
 * `repeat`, `while`) with no sibling fields; bounded counts; nesting at most 8 levels.
 */

export const MAX_TOP_LEVEL_STEPS = 100;
export const MAX_LOOP_COUNT = 100;
export const MAX_NESTING = 8;
export const MAX_CONDITION_TIMEOUT_S = 60;

export type Condition =
  | { type: 'element'; selector: string; state: 'visible' | 'hidden' | 'attached' | 'detached' }
  | { type: 'text'; text: string }
  | { type: 'url'; matches: string }
  | { type: 'javascript'; expression: string }
  | { type: 'output'; output_id: string; path: Array<string | number>; equals?: unknown; exists?: boolean }
  | { type: 'all' | 'any'; conditions: Condition[] }
  | { type: 'not'; condition: Condition };

export type ScriptStep =
  | { kind: 'action'; body: Record<string, unknown>; outputId?: string }
  | { kind: 'if'; condition: Condition; timeoutS: number; whenTrue: ScriptStep[]; whenFalse: ScriptStep[] }
  | { kind: 'repeat'; count: number; steps: ScriptStep[] }
  | { kind: 'while'; condition: Condition; timeoutS: number; maxIterations: number; steps: ScriptStep[] };

const CONTROL_KEYS = ['if', 'repeat', 'while'] as const;

function invalid(where: string, message: string): never {
  throw new AppError('invalid_request', `Invalid run_script: ${where}: ${message}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseSteps(raw: unknown, where: string, depth: number, maxSteps?: number): ScriptStep[] {
  if (!Array.isArray(raw) || raw.length === 0) invalid(where, 'must be a non-empty list of steps');
  if (maxSteps !== undefined && raw.length > maxSteps) invalid(where, `at most ${maxSteps} steps`);
  return raw.map((step, i) => parseStep(step, `${where}[${i}]`, depth));
}

function parseStep(raw: unknown, where: string, depth: number): ScriptStep {
  if (!isObject(raw)) invalid(where, 'each step must be an object');
  const controls = CONTROL_KEYS.filter((k) => k in raw);
  if (controls.length === 0) {
    if (typeof raw.action !== 'string' || raw.action === '')
      invalid(where, 'needs "action" (or one of if/repeat/while)');
    if (raw.action === 'run_script') invalid(where, 'run_script cannot be nested');
    const { output_id: outputId, ...body } = raw;
    if (outputId !== undefined && (typeof outputId !== 'string' || outputId === '')) {
      invalid(where, 'output_id must be a non-empty string');
    }
    return { kind: 'action', body, ...(outputId === undefined ? {} : { outputId: outputId as string }) };
  }
  if (controls.length > 1 || Object.keys(raw).length > 1) {
    invalid(where, 'a control node (if/repeat/while) stands alone, with no sibling fields');
  }
  if (depth >= MAX_NESTING) invalid(where, `control nodes nest at most ${MAX_NESTING} levels`);
  const kind = controls[0] as (typeof CONTROL_KEYS)[number];
  const node = raw[kind];
  const at = `${where}.${kind}`;
  if (!isObject(node)) invalid(at, 'must be an object');
  if (kind === 'repeat') {
    return {
      kind,
      count: boundedCount(node.count, `${at}.count`),
      steps: parseSteps(node.steps, `${at}.steps`, depth + 1),
    };
  }
  const { condition, timeoutS } = parseOuterCondition(node.condition, `${at}.condition`, depth + 1);
  if (kind === 'if') {
    return {
      kind,
      condition,
      timeoutS,
      whenTrue: parseSteps(node.then, `${at}.then`, depth + 1),
      whenFalse: node.else === undefined ? [] : parseSteps(node.else, `${at}.else`, depth + 1),
    };
  }
  if (node.max_iterations === undefined) invalid(`${at}.max_iterations`, 'is required');
  return {
    kind,
    condition,
    timeoutS,
    maxIterations: boundedCount(node.max_iterations, `${at}.max_iterations`),
    steps: parseSteps(node.steps, `${at}.steps`, depth + 1),
  };
}

function boundedCount(raw: unknown, where: string): number {
  if (!Number.isInteger(raw) || (raw as number) < 1 || (raw as number) > MAX_LOOP_COUNT) {
    invalid(where, `must be an integer from 1 to ${MAX_LOOP_COUNT}`);
  }
  return raw as number;
}

/** `timeout` belongs only on the outermost condition of a node. */
function parseOuterCondition(
  raw: unknown,
  where: string,
  depth: number,
): { condition: Condition; timeoutS: number } {
  if (!isObject(raw)) invalid(where, 'must be an object with a "type"');
  const { timeout, ...rest } = raw;
  if (
    timeout !== undefined &&
    (typeof timeout !== 'number' || timeout < 0 || timeout > MAX_CONDITION_TIMEOUT_S)
  ) {
    invalid(`${where}.timeout`, `must be 0 to ${MAX_CONDITION_TIMEOUT_S} seconds`);
  }
  return { condition: parseCondition(rest, where, depth), timeoutS: (timeout as number | undefined) ?? 0 };
}

function str(raw: Record<string, unknown>, key: string, where: string): string {
  const v = raw[key];
  if (typeof v !== 'string' || v === '') invalid(`${where}.${key}`, 'must be a non-empty string');
  return v;
}

function parseCondition(raw: unknown, where: string, depth: number): Condition {
  if (!isObject(raw)) invalid(where, 'must be an object with a "type"');
  if (depth > MAX_NESTING) invalid(where, `conditions nest at most ${MAX_NESTING} levels`);
  if ('timeout' in raw) invalid(`${where}.timeout`, 'belongs only on the outermost condition');
  switch (raw.type) {
    case 'element': {
      const state = raw.state ?? 'visible';
      if (!['visible', 'hidden', 'attached', 'detached'].includes(state as string)) {
        invalid(`${where}.state`, 'must be visible, hidden, attached or detached');
      }
      return { type: 'element', selector: str(raw, 'selector', where), state: state as 'visible' };
    }
    case 'text':
      return { type: 'text', text: str(raw, 'text', where) };
    case 'url':
      return { type: 'url', matches: str(raw, 'matches', where) };
    case 'javascript':
      return { type: 'javascript', expression: str(raw, 'expression', where) };
    case 'output': {
      const hasEquals = 'equals' in raw;
      const hasExists = 'exists' in raw;
      if (hasEquals === hasExists)
        invalid(where, 'an output condition needs exactly one of equals or exists');
      if (hasExists && typeof raw.exists !== 'boolean') invalid(`${where}.exists`, 'must be true or false');
      const path = raw.path ?? [];
      if (!Array.isArray(path) || !path.every((p) => typeof p === 'string' || Number.isInteger(p))) {
        invalid(`${where}.path`, 'must be a list of keys and indexes');
      }
      return {
        type: 'output',
        output_id: str(raw, 'output_id', where),
        path,
        ...(hasEquals ? { equals: raw.equals } : { exists: raw.exists as boolean }),
      };
    }
    case 'all':
    case 'any': {
      const list = raw.conditions;
      if (!Array.isArray(list) || list.length === 0)
        invalid(`${where}.conditions`, 'must be a non-empty list');
      return {
        type: raw.type,
        conditions: list.map((c, i) => parseCondition(c, `${where}.conditions[${i}]`, depth + 1)),
      };
    }
    case 'not':
      return { type: 'not', condition: parseCondition(raw.condition, `${where}.condition`, depth + 1) };
    default:
      return invalid(`${where}.type`, 'must be element, text, url, javascript, output, all, any or not');
  }
}
