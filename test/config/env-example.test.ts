import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseEnv } from 'node:util';
import { renderEnvExample } from '../../src/config/env-example.ts';
import { parseConfig } from '../../src/config/index.ts';
import { envSchema } from '../../src/config/schema.ts';
import { meaningOf } from '../../src/config/variable-docs.ts';

const committed = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');

test('every variable has one line of meaning', () => {
  const without = Object.keys(envSchema.shape).filter((name) => !meaningOf(name));
  assert.deepEqual(without, [], "add .describe('…') to these in src/config/schema.ts");
  const multiline = Object.keys(envSchema.shape).filter((name) => /\n/.test(meaningOf(name) ?? ''));
  assert.deepEqual(multiline, []);
});

test('.env.example is what the schema generates (run `npm run env:example` after changing it)', () => {
  assert.equal(committed, renderEnvExample());
});

test('.env.example lists every variable, and its defaults are the schema defaults', () => {
  const listed = new Map<string, string>();
  for (const m of committed.matchAll(/^# ([A-Z][A-Z0-9_]*)=(.*)$/gm)) listed.set(m[1] ?? '', m[2] ?? '');
  const missing = Object.keys(envSchema.shape).filter((name) => !listed.has(name));
  assert.deepEqual(missing, []);
  // Uncommented, the example's defaults parse to exactly the config of an empty environment.
  const uncommented = [...listed]
    .filter(([name, value]) => name in envSchema.shape && value !== '')
    .map(([name, value]) => `${name}=${value}`)
    .join('\n');
  assert.deepEqual(parseConfig(parseEnv(uncommented)), parseConfig({}));
});
