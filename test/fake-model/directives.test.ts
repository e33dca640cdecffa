import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDirectives } from '../../src/fake-model/directives.ts';
import { exampleForSchema } from '../../src/fake-model/schema-example.ts';

describe('parseDirectives', () => {
  it('reads combined directives in prompt order', () => {
    const parsed = parseDirectives(
      'do [[sleep:4000]] [[tool:Bash {"command":"touch x"}]] then [[tool:Read {"file_path":"/a"}]] [[words:7]] [[recall]]',
    );
    assert.deepEqual(parsed, {
      tools: [
        { name: 'Bash', input: { command: 'touch x' } },
        { name: 'Read', input: { file_path: '/a' } },
      ],
      sleepMs: 4000,
      words: 7,
      isRecall: true,
    });
  });

  it('keeps JSON inputs containing brackets', () => {
    const parsed = parseDirectives('[[tool:Edit {"edits":[{"a":"]"}],"b":[1]}]]');
    assert.deepEqual(parsed.tools, [{ name: 'Edit', input: { edits: [{ a: ']' }], b: [1] } }]);
  });

  it('accepts a tool without input and ignores malformed numbers and statuses', () => {
    const parsed = parseDirectives('[[tool:Glob]] [[sleep:abc]] [[error:200]] [[error:529]]');
    assert.deepEqual(parsed.tools, [{ name: 'Glob', input: {} }]);
    assert.equal(parsed.sleepMs, undefined);
    assert.equal(parsed.errorStatus, 529);
  });

  it('finds nothing in plain text', () => {
    assert.deepEqual(parseDirectives('just [words] and [[unknown:1]]'), { tools: [], isRecall: false });
  });
});

describe('exampleForSchema', () => {
  it('fills required properties only, with minimal values', () => {
    assert.deepEqual(
      exampleForSchema({
        type: 'object',
        properties: {
          s: { type: 'string', minLength: 10 },
          n: { type: 'number' },
          i: { type: 'integer', exclusiveMinimum: 4 },
          b: { type: 'boolean' },
          e: { type: 'string', enum: ['x', 'y'] },
          c: { const: 'fixed' },
          a: { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 2 },
          nullable: { type: ['null', 'string'] },
          skipped: { type: 'string' },
        },
        required: ['s', 'n', 'i', 'b', 'e', 'c', 'a', 'nullable'],
      }),
      { s: 'examplexxx', n: 0, i: 5, b: false, e: 'x', c: 'fixed', a: [1, 1], nullable: 'example' },
    );
  });

  it('follows $ref, anyOf and allOf', () => {
    assert.deepEqual(
      exampleForSchema({
        $defs: {
          item: { type: 'object', properties: { id: { type: 'string', format: 'uuid' } }, required: ['id'] },
        },
        allOf: [
          { properties: { item: { $ref: '#/$defs/item' } }, required: ['item'] },
          {
            properties: { either: { anyOf: [{ type: 'null' }, { type: 'integer', minimum: 3 }] } },
            required: ['either'],
          },
        ],
      }),
      { item: { id: '00000000-0000-0000-0000-000000000000' }, either: 3 },
    );
  });

  it('survives recursive schemas', () => {
    const value = exampleForSchema({
      $defs: { node: { type: 'object', properties: { next: { $ref: '#/$defs/node' } }, required: ['next'] } },
      $ref: '#/$defs/node',
    });
    assert.equal(typeof value, 'object');
  });
});
