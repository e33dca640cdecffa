import { existsSync, readFileSync } from 'node:fs';
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

/** Variables whose value holds a credential: an error about them never shows the value. */
const SECRET_VALUED: ReadonlySet<string> = new Set(['DATABASE_URL']);

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
    // A value that carries a password is never echoed, not even when it is malformed.
    const given = SECRET_VALUED.has(variable) ? undefined : env[variable];
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

/**
 * The dotenv file to read: the one ENV_FILE names (relative to `cwd`), else `./.env` when it
 * exists, else none.
 */
export function envFilePath(
  env: Record<string, string | undefined>,
  cwd: string = process.cwd(),
): string | undefined {
  const named = env.ENV_FILE?.trim();
  if (named) return resolve(cwd, named);
  const local = resolve(cwd, '.env');
  return existsSync(local) ? local : undefined;
}

/**
 * The process environment over the dotenv file's variables: a variable set in the real
 * environment wins, as with dotenv, docker and compose, so `PORT=9000 npm start` and a
 * container's `environment:` override a copied .env. SIGHUP re-reads the file, so a secret
 * to rotate without a restart belongs in the file only. ENV_FILE then holds the file's
 * absolute path, which the sandbox masks from agents.
 */
export function readEnvironment(
  env: Record<string, string | undefined> = process.env,
  cwd: string = process.cwd(),
): Record<string, string | undefined> {
  const real: Record<string, string | undefined> = { ...env };
  const file = envFilePath(real, cwd);
  if (file === undefined) return real;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('ENV_FILE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  let fromFile: Record<string, string>;
  try {
    fromFile = parseEnv(text) as Record<string, string>;
  } catch (err) {
    throw new ConfigError('ENV_FILE', `cannot parse ${file}: ${(err as Error).message}`);
  }
  return { ...fromFile, ...real, ENV_FILE: file };
}

/**
 * Variables the env file sets to one value while the process environment holds another:
 * the environment wins, so editing the file (and SIGHUP) changes nothing for them — a key
 * removed from the file's API_KEYS stays valid. Names only, never values.
 */
export function shadowedFileVariables(
  env: Record<string, string | undefined> = process.env,
  cwd: string = process.cwd(),
): string[] {
  const file = envFilePath({ ...env }, cwd);
  if (file === undefined) return [];
  try {
    const fromFile = parseEnv(readFileSync(file, 'utf8')) as Record<string, string>;
    return Object.keys(fromFile).filter((name) => env[name] !== undefined && env[name] !== fromFile[name]);
  } catch {
    return [];
  }
}

/**
 * The live configuration. Most settings are fixed at start-up; secrets that the seeds
 * promise can be rotated without a restart (CLAUDEOPS_CHAT_API_KEY, …) are read through
 * `current()` on every request, and `reload()` (SIGHUP) re-reads the .env file.
 */
export class ConfigSource {
  #current: Config;
  readonly #read: () => Record<string, string | undefined>;

  constructor(read: () => Record<string, string | undefined>) {
    this.#read = read;
    this.#current = parseConfig(read());
  }

  /** The process environment over ./.env (or ENV_FILE), both re-read by `reload()`. */
  static fromProcess(): ConfigSource {
    return new ConfigSource(() => readEnvironment(process.env, process.cwd()));
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
