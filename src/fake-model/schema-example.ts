/**
 * Builds the smallest plausible value that satisfies a JSON schema, so the fake model can
 * answer a structured-output request without knowing what the caller asked for.
 */

type Schema = Record<string, unknown>;

const MAX_DEPTH = 16;

export function exampleForSchema(schema: unknown): unknown {
  const root = asSchema(schema);
  return build(root, root, 0);
}

function build(schema: Schema, root: Schema, depth: number): unknown {
  if (depth > MAX_DEPTH) return null;
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  if (typeof schema.$ref === 'string') return build(resolveRef(schema.$ref, root), root, depth + 1);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = schema[key];
    if (Array.isArray(options) && options.length > 0) {
      return build(asSchema(preferNonNull(options)), root, depth + 1);
    }
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) {
    return build(mergeAll(schema, schema.allOf), root, depth + 1);
  }
  switch (typeOf(schema)) {
    case 'string':
      return exampleString(schema);
    case 'integer':
      return exampleNumber(schema, true);
    case 'number':
      return exampleNumber(schema, false);
    case 'boolean':
      return false;
    case 'null':
      return null;
    case 'array':
      return exampleArray(schema, root, depth);
    default:
      return exampleObject(schema, root, depth);
  }
}

function typeOf(schema: Schema): string {
  if (typeof schema.type === 'string') return schema.type;
  if (Array.isArray(schema.type)) {
    const first = schema.type.find((type) => type !== 'null') ?? schema.type[0];
    if (typeof first === 'string') return first;
  }
  if (schema.properties || schema.required) return 'object';
  if (schema.items) return 'array';
  return 'object';
}

function exampleString(schema: Schema): string {
  const format = schema.format;
  if (format === 'date-time') return '1970-01-01T00:00:00Z';
  if (format === 'date') return '1970-01-01';
  if (format === 'email') return 'example@example.com';
  if (format === 'uri' || format === 'url') return 'https://example.com';
  if (format === 'uuid') return '00000000-0000-0000-0000-000000000000';
  const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : Number.POSITIVE_INFINITY;
  const text = 'example'.padEnd(minLength, 'x');
  return text.slice(0, Math.max(minLength, Math.min(text.length, maxLength)));
}

function exampleNumber(schema: Schema, isInteger: boolean): number {
  let value = 0;
  if (typeof schema.minimum === 'number') value = schema.minimum;
  else if (typeof schema.exclusiveMinimum === 'number')
    value = schema.exclusiveMinimum + (isInteger ? 1 : 0.5);
  else if (typeof schema.maximum === 'number' && schema.maximum < 0) value = schema.maximum;
  return isInteger ? Math.ceil(value) : value;
}

function exampleArray(schema: Schema, root: Schema, depth: number): unknown[] {
  const minItems = typeof schema.minItems === 'number' ? schema.minItems : 0;
  if (Array.isArray(schema.prefixItems)) {
    return schema.prefixItems.map((item) => build(asSchema(item), root, depth + 1));
  }
  const items = asSchema(schema.items);
  return Array.from({ length: minItems }, () => build(items, root, depth + 1));
}

function exampleObject(schema: Schema, root: Schema, depth: number): Record<string, unknown> {
  const properties = asSchema(schema.properties);
  const required = Array.isArray(schema.required)
    ? schema.required.filter((key) => typeof key === 'string')
    : [];
  const result: Record<string, unknown> = {};
  for (const key of required) result[key] = build(asSchema(properties[key]), root, depth + 1);
  return result;
}

function resolveRef(ref: string, root: Schema): Schema {
  if (!ref.startsWith('#')) return {};
  let node: unknown = root;
  for (const part of ref.slice(1).split('/').filter(Boolean)) {
    const key = decodeURIComponent(part).replaceAll('~1', '/').replaceAll('~0', '~');
    node = node && typeof node === 'object' ? (node as Schema)[key] : undefined;
  }
  return asSchema(node);
}

function mergeAll(schema: Schema, parts: unknown[]): Schema {
  const merged: Schema = { ...schema };
  delete merged.allOf;
  const properties: Schema = { ...asSchema(schema.properties) };
  const required = new Set<unknown>(Array.isArray(schema.required) ? schema.required : []);
  for (const part of parts.map(asSchema)) {
    Object.assign(properties, asSchema(part.properties));
    for (const key of Array.isArray(part.required) ? part.required : []) required.add(key);
    for (const [key, value] of Object.entries(part)) {
      if (key !== 'properties' && key !== 'required' && !(key in merged)) {
        merged[key] = value;
      }
    }
  }
  merged.properties = properties;
  merged.required = [...required];
  return merged;
}

function preferNonNull(options: unknown[]): unknown {
  return options.find((option) => asSchema(option).type !== 'null') ?? options[0];
}

function asSchema(value: unknown): Schema {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Schema) : {};
}
