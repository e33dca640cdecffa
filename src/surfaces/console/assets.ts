import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';

/** One file of the console, under the URL that names its content. */
export interface ConsoleAsset {
  /** `app.3f2a9c1b0d.js`: the name with the content hash, as served below `/ui/assets/`. */
  hashedName: string;
  contentType: string;
  body: Buffer;
}

export interface ConsoleBundle {
  /** index.html with every asset reference rewritten to its hashed URL. */
  indexHtml: Buffer;
  /** By hashed name. */
  assets: ReadonlyMap<string, ConsoleAsset>;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** `from './x.js'`, `import './x.js'` and `import('./x.js')`: the console's module imports. */
const MODULE_IMPORT = /(\bfrom\s*|\bimport\s*\(?\s*)(['"])\.\/([\w-]+\.js)\2/g;
/** `{{asset:name.ext}}` in index.html (and the manifest) stands for that asset's hashed URL. */
const ASSET_REF = /\{\{asset:([\w.-]+)\}\}/g;

function hashOf(body: Buffer | string): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 12);
}

function hashedNameOf(name: string, body: Buffer): string {
  const ext = extname(name);
  return `${name.slice(0, -ext.length)}.${hashOf(body)}${ext}`;
}

/**
 * Reads the console's files once and names each by a hash of its content, so each can be
 * cached for a year: a module's imports are rewritten to the hashed names of what they
 * import before its own hash is taken, so a change anywhere changes every URL that leads
 * to it, up to index.html (never cached). No build step: the files are served as written.
 */
export function loadConsoleBundle(dir: string): ConsoleBundle {
  const sources = new Map<string, Buffer>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name !== 'index.html' && CONTENT_TYPES[extname(entry.name)]) {
      sources.set(entry.name, readFileSync(join(dir, entry.name)));
    }
  }
  const hashed = new Map<string, string>();
  const assets = new Map<string, ConsoleAsset>();
  const resolving = new Set<string>();

  const urlOf = (name: string, from: string): string => {
    const hashedName = resolve(name, from);
    return from === 'index.html' ? `/ui/assets/${hashedName}` : `./${hashedName}`;
  };
  const resolve = (name: string, from: string): string => {
    const done = hashed.get(name);
    if (done) return done;
    const source = sources.get(name);
    if (!source) throw new Error(`console asset ${from} refers to missing ${name}`);
    if (resolving.has(name)) throw new Error(`console modules import each other in a cycle at ${name}`);
    resolving.add(name);
    let body = source;
    if (name.endsWith('.js')) {
      body = Buffer.from(
        source.toString('utf8').replace(MODULE_IMPORT, (_m, head, quote, target) => {
          return `${head}${quote}${urlOf(target, name)}${quote}`;
        }),
      );
    }
    const hashedName = hashedNameOf(name, body);
    resolving.delete(name);
    hashed.set(name, hashedName);
    assets.set(hashedName, {
      hashedName,
      contentType: CONTENT_TYPES[extname(name)] ?? 'application/octet-stream',
      body,
    });
    return hashedName;
  };

  for (const name of sources.keys()) resolve(name, name);
  const html = readFileSync(join(dir, 'index.html'), 'utf8').replace(ASSET_REF, (_m, name: string) =>
    urlOf(name, 'index.html'),
  );
  return { indexHtml: Buffer.from(html), assets };
}
