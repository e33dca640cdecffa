import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** Every relative module a file imports (static, re-export or dynamic), as a path below src/. */
function importsOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  const specifiers = [
    ...text.matchAll(/\b(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g),
    ...text.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g),
    ...text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
  ].map((m) => m[1] ?? '');
  return specifiers
    .filter((s) => s.startsWith('.'))
    .map((s) =>
      relative(SRC, resolve(dirname(file), s))
        .split('\\')
        .join('/'),
    );
}

function tsFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

function violations(dir: string, isForbidden: (target: string) => boolean): string[] {
  return tsFilesUnder(join(SRC, dir)).flatMap((file) =>
    importsOf(file)
      .filter(isForbidden)
      .map((target) => `${relative(SRC, file)} imports ${target}`),
  );
}

/** Surfaces see the engine only through its port and services through AppDeps' interfaces. */
const isForbiddenForSurfaces = (target: string): boolean =>
  target === 'deps.ts' || target === 'app.ts' || /^(agents|process|db|runs)(\/|$)/.test(target);

describe('architecture: surfaces → port → engine → agents, no arrow back up', () => {
  it('the import scanner sees every import form (a forbidden import is caught)', () => {
    const file = join(SRC, 'surfaces/x/y.ts');
    const text = [
      "import type { AppDeps } from '../../deps.ts';",
      "import {\n  a,\n  b,\n} from '../../app.ts';",
      "export { c } from '../../agents/types.ts';",
      "const d = await import('../../db/open.ts');",
      "import '../../process/sandbox.ts';",
      "import { z } from 'zod';",
    ].join('\n');
    assert.deepEqual(importsOf(file, text).filter(isForbiddenForSurfaces), [
      'deps.ts',
      'app.ts',
      'agents/types.ts',
      'db/open.ts',
      'process/sandbox.ts',
    ]);
  });

  it('the scan covers every surface', () => {
    const files = tsFilesUnder(join(SRC, 'surfaces')).map((f) => relative(SRC, f));
    for (const surface of [
      'claude-code-api',
      'claudebox',
      'openai',
      'mcp',
      'browser',
      'storage',
      'health',
      'console',
    ]) {
      assert.ok(
        files.some((f) => f.startsWith(`surfaces/${surface}/`)),
        `no file of surfaces/${surface} was scanned`,
      );
    }
  });

  it('no surface imports deps.ts, app.ts, agents/, process/, db/ or the engine internals (runs/)', () => {
    assert.deepEqual(violations('surfaces', isForbiddenForSurfaces), []);
  });

  it('the surface contract (http/surface.ts) names interfaces only', () => {
    assert.deepEqual(violations('http', isForbiddenForSurfaces), []);
  });

  it('the run vocabulary and port (engine/) import neither runs/, agents/ nor surfaces/', () => {
    assert.deepEqual(
      violations('engine', (t) => /^(runs|agents|surfaces|http|db|process)(\/|$)/.test(t) || t === 'deps.ts'),
      [],
    );
  });

  it('agents never import runs/ or surfaces/', () => {
    assert.deepEqual(
      violations('agents', (t) => /^(runs|surfaces)(\/|$)/.test(t) || t === 'deps.ts' || t === 'app.ts'),
      [],
    );
  });

  it('the engine implementation (runs/) never imports a surface or the HTTP layer', () => {
    assert.deepEqual(
      violations('runs', (t) => /^(surfaces|http)(\/|$)/.test(t) || t === 'deps.ts' || t === 'app.ts'),
      [],
    );
  });
});
