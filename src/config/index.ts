import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { type Env, envSchema } from './schema.ts';
import { type BucketConfig, parseBuckets } from './storage.ts';

export type { BucketConfig } from './storage.ts';

/** A bad environment variable: its message is the one line start-up prints. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`Invalid ${variable}: ${detail}`);
    this.name = 'ConfigError';
  }
}

export type Config = Omit<Env, 'DATA_DIR'> & {
  DATA_DIR: string;
  buckets: BucketConfig[];
};

/** The only place that turns environment text into typed settings. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    const given = env[variable];
    throw new ConfigError(
      variable,
      `${issue?.message ?? 'invalid value'}${given === undefined ? '' : ` (got ${JSON.stringify(given)})`}`,
    );
  }
  const values = parsed.data;
  const buckets = parseBuckets(values.HYBRIDS3_BUCKETS, env);
  if ('error' in buckets) throw new ConfigError(buckets.variable, buckets.error);
  return {
    ...values,
    DATA_DIR: isAbsolute(values.DATA_DIR) ? values.DATA_DIR : resolve(values.DATA_DIR),
    buckets: buckets.buckets,
  };
}

/** Reads the process environment, overlaid by the variables of ENV_FILE when one is named. */
export function readEnvironment(): Record<string, string | undefined> {
  const base: Record<string, string | undefined> = { ...process.env };
  const file = base.ENV_FILE?.trim();
  if (!file) return base;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('ENV_FILE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  // The file wins: it is what an operator edits to rotate a secret before sending SIGHUP.
  return { ...base, ...parseEnv(text) };
}

/**
 * The live configuration. Most settings are fixed at start-up; secrets that the seeds
 * promise can be rotated without a restart (CLAUDEOPS_CHAT_API_KEY, …) are read through
 * `current()` on every request, and `reload()` (SIGHUP) re-reads the environment file.
 */
export class ConfigSource {
  #current: Config;
  readonly #read: () => Record<string, string | undefined>;

  constructor(read: () => Record<string, string | undefined>) {
    this.#read = read;
    this.#current = parseConfig(read());
  }

  static fromProcess(): ConfigSource {
    return new ConfigSource(readEnvironment);
  }

  static fromValues(values: Record<string, string | undefined>): ConfigSource {
    return new ConfigSource(() => values);
  }

  current(): Config {
    return this.#current;
  }

  /** Re-reads the environment; a bad new value keeps the old config and throws. */
  reload(): Config {
    this.#current = parseConfig(this.#read());
    return this.#current;
  }
}

/** The few variables of the server's own environment an agent process may inherit. */
export function agentPassThroughEnv(): Record<string, string | undefined> {
  const { PATH, LANG, LC_ALL, LC_CTYPE, TZ, TERM, SHELL, USER, LOGNAME } = process.env;
  return { PATH, LANG, LC_ALL, LC_CTYPE, TZ, TERM, SHELL, USER, LOGNAME };
}
