import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { isSafeUserId } from '../../auth/principal.ts';
import { AppError } from '../../errors.ts';
import { callerOf } from './caller.ts';
import { parseOrThrow } from './request-body.ts';

/** CLAUDE.md is loaded into every prompt of its user, so it is held to a sane size. */
export const MAX_USER_MEMORY_CHARS = 100_000;

/**
 * Each user's CLAUDE.md, kept under DATA_DIR/users/<user>/ — outside every workspace, so an
 * agent cannot rewrite its own standing instructions; runs get it as spec.userMemory.
 */
export class UserMemoryStore {
  constructor(private readonly dataDir: string) {}

  async read(userId: string): Promise<string> {
    try {
      return await readFile(this.#file(userId), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw err;
    }
  }

  async write(userId: string, content: string): Promise<void> {
    const file = this.#file(userId);
    await mkdir(join(this.dataDir, 'users', userId), { recursive: true, mode: 0o700 });
    // Rename over the old file: a run starting meanwhile reads the old or the new text, never half.
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, content, { mode: 0o600 });
    await rename(tmp, file);
  }

  #file(userId: string): string {
    // User ids come from credentials and are already safe; checked again because this is a path.
    if (!isSafeUserId(userId)) throw new AppError('invalid_request', 'Invalid user id');
    return join(this.dataDir, 'users', userId, 'CLAUDE.md');
  }
}

const saveSchema = z.object({
  content: z
    .string({ error: 'content must be a string' })
    .max(MAX_USER_MEMORY_CHARS, `content is longer than ${MAX_USER_MEMORY_CHARS} characters`),
});

/** GET /user-claude → `{content}`, PUT /user-claude `{content}` → `{saved:true}`: the caller's own file. */
export function registerUserMemoryRoutes(scope: FastifyInstance, memory: UserMemoryStore): void {
  scope.get('/user-claude', async (req) => ({ content: await memory.read(callerOf(req).userId) }));
  scope.put('/user-claude', async (req) => {
    const { content } = parseOrThrow(saveSchema, req.body);
    await memory.write(callerOf(req).userId, content);
    return { saved: true };
  });
}
