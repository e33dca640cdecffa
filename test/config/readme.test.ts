import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { envSchema } from '../../src/config/schema.ts';

test('every environment variable is documented in the README table', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const missing = Object.keys(envSchema.shape).filter((name) => !readme.includes(`| \`${name}\` |`));
  assert.deepEqual(missing, [], 'add these to the README configuration table');
});
