import { z } from 'zod';
import { AppError } from '../../errors.ts';

const TYPES = new Set(['string', 'number', 'integer', 'boolean', 'object', 'array', 'null']);
const SCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'definitions'] as const;
const SCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'] as const;
const SCHEMA_SINGLES = ['items', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains'] as const;

/**
 * `jsonSchema` arrives as a string (the seed passes it to `claude --json-schema`). It must
 * be a JSON Schema object: a typo'd schema would otherwise make the agent loop on a
 * structured-output tool it can never satisfy, so it is refused up front with a 400.
 */
export function parseJsonSchemaText(text: string): Record<string, unknown> {
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch {
    throw new AppError('invalid_request', 'jsonSchema is not valid JSON');
  }
  const problem = schemaProblem(schema, '');
  if (problem) throw new AppError('invalid_request', `jsonSchema is not a valid JSON Schema: ${problem}`);
  try {
    z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
  } catch (err) {
    throw new AppError('invalid_request', `jsonSchema is not a valid JSON Schema: ${(err as Error).message}`);
  }
  return schema as Record<string, unknown>;
}

/** The first structural mistake in a schema (keywords of the wrong shape), or undefined. */
function schemaProblem(schema: unknown, at: string): string | undefined {
  if (typeof schema === 'boolean' && at !== '') return undefined;
  if (!schema || typeof schema !== 'object' || Array.isArray(schema))
    return `${at || 'the schema'} must be an object`;
  const s = schema as Record<string, unknown>;
  const types = Array.isArray(s.type) ? s.type : s.type === undefined ? [] : [s.type];
  for (const t of types)
    if (typeof t !== 'string' || !TYPES.has(t)) return `${at}/type "${String(t)}" is not a type`;
  if (
    s.required !== undefined &&
    !(Array.isArray(s.required) && s.required.every((r) => typeof r === 'string'))
  )
    return `${at}/required must be an array of strings`;
  if (s.enum !== undefined && !Array.isArray(s.enum)) return `${at}/enum must be an array`;
  for (const k of SCHEMA_MAPS) {
    const map = s[k];
    if (map === undefined) continue;
    if (!map || typeof map !== 'object' || Array.isArray(map)) return `${at}/${k} must be an object`;
    for (const [name, sub] of Object.entries(map)) {
      const p = schemaProblem(sub, `${at}/${k}/${name}`);
      if (p) return p;
    }
  }
  for (const k of SCHEMA_LISTS) {
    const list = s[k];
    if (list === undefined) continue;
    if (!Array.isArray(list)) return `${at}/${k} must be an array`;
    for (const [i, sub] of list.entries()) {
      const p = schemaProblem(sub, `${at}/${k}/${i}`);
      if (p) return p;
    }
  }
  for (const k of SCHEMA_SINGLES) {
    if (s[k] === undefined) continue;
    const p = schemaProblem(s[k], `${at}/${k}`);
    if (p) return p;
  }
  return undefined;
}
