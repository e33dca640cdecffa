import type { z } from 'zod';
import { AppError } from '../../errors.ts';

/** Validates a body with zod; the first issue becomes this API's 400 `{error}`. */
export function parseOrThrow<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError('invalid_request', issue?.message ?? 'Invalid request body');
  }
  return parsed.data;
}
