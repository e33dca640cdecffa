import { z } from 'zod';

/** Helpers for schemas keyed by environment variable name. */

export const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

export const flag = (defaultValue: boolean) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return defaultValue;
      const s = v.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(s)) return true;
      if (['0', 'false', 'no', 'off'].includes(s)) return false;
      ctx.addIssue({ code: 'custom', message: 'expected 1/0, true/false, yes/no or on/off' });
      return z.NEVER;
    });

export const int = (defaultValue: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return defaultValue;
      const n = Number(v.trim());
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({
          code: 'custom',
          message: `expected an integer${max === Number.MAX_SAFE_INTEGER ? ` >= ${min}` : ` in ${min}..${max}`}`,
        });
        return z.NEVER;
      }
      return n;
    });

/** Durations like `168h`, `30m`, `45s`, `1500ms` or a bare number of seconds; result in ms. */
export function parseDurationMs(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit] ?? 1000;
  return Math.round(n * factor);
}

export const duration = (defaultMs: number | undefined) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return defaultMs;
      const ms = parseDurationMs(v);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: 'expected a duration like 168h, 30m, 45s or 1500ms' });
        return z.NEVER;
      }
      return ms;
    });

export const url = (defaultValue?: string) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const s = v === undefined || v.trim() === '' ? defaultValue : v.trim();
      if (s === undefined) return undefined;
      try {
        return new URL(s).toString().replace(/\/$/, '');
      } catch {
        ctx.addIssue({ code: 'custom', message: 'expected an absolute URL' });
        return z.NEVER;
      }
    });

/** A PostgreSQL connection URL (`postgres://` or `postgresql://`), kept as given. */
export const postgresUrl = optionalString.refine(
  (v) => {
    if (v === undefined) return true;
    try {
      const u = new URL(v);
      return u.protocol === 'postgres:' || u.protocol === 'postgresql:';
    } catch {
      return false;
    }
  },
  { message: 'expected a postgres:// or postgresql:// URL' },
);
