import { type Config, ConfigError, parseConfig } from '../config/index.ts';
import {
  type CheckResult,
  checkChromium,
  checkDataDir,
  checkModel,
  checkNode,
  checkPort,
  checkSandbox,
  checkSurfaces,
} from './checks.ts';
import { checkDatabase } from './database-check.ts';

export type { CheckResult } from './checks.ts';

/** Every check of a deployment, in the order an operator fixes them. */
export async function runChecks(env: Record<string, string | undefined>): Promise<CheckResult[]> {
  const results: CheckResult[] = [checkNode()];
  let c: Config;
  try {
    c = parseConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // Nothing else can be checked without a configuration.
    return [
      ...results,
      {
        name: 'config',
        status: 'fail',
        detail: err.message,
        fix: `correct ${err.variable} (see .env.example)`,
      },
    ];
  }
  results.push({
    name: 'config',
    status: 'ok',
    detail: c.ENV_FILE ? `read ${c.ENV_FILE}` : 'environment only',
  });
  const chromium = checkChromium(c);
  results.push(
    checkSandbox(c),
    chromium,
    await checkModel(c),
    await checkDataDir(c),
    await checkDatabase(c),
    await checkPort(c),
    ...checkSurfaces(c, chromium),
  );
  return results;
}

/** A plain-text table, one check a line, with the fix under each failing or warning line. */
export function renderTable(results: readonly CheckResult[]): string {
  const nameWidth = Math.max(5, ...results.map((r) => r.name.length));
  const lines = [`${'check'.padEnd(nameWidth)}  status  detail`];
  for (const r of results) {
    lines.push(`${r.name.padEnd(nameWidth)}  ${r.status.padEnd(6)}  ${r.detail}`);
    if (r.fix && (r.status === 'fail' || r.status === 'warn')) {
      lines.push(`${''.padEnd(nameWidth)}  ${'fix:'.padEnd(6)}  ${r.fix}`);
    }
  }
  const failed = results.filter((r) => r.status === 'fail').length;
  const warned = results.filter((r) => r.status === 'warn').length;
  lines.push('', failed > 0 ? `${failed} required check(s) failed` : `ready (${warned} warning(s))`);
  return `${lines.join('\n')}\n`;
}

/** `agentgate doctor [--json]`: prints the table (or JSON) and returns the exit code. */
export async function runDoctorCli(env: Record<string, string | undefined>, args: string[]): Promise<number> {
  const results = await runChecks(env);
  process.stdout.write(
    args.includes('--json') ? `${JSON.stringify(results, null, 2)}\n` : renderTable(results),
  );
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}
