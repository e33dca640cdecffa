import { envSchema } from './schema.ts';
import { composeVariables, defaultText, meaningOf } from './variable-docs.ts';

export const ENV_EXAMPLE_HEADER = `# agentgate settings. cp .env.example .env, then uncomment and set what you change.
# ./.env is read at start-up (ENV_FILE names another file) and again on SIGHUP; a variable
# set in the real environment wins over the file. Every line shows the default.
# Generated from src/config/schema.ts by \`npm run env:example\`: do not edit by hand.
`;

/** A default as a dotenv value: flags as 1/0, unset as empty, quoted when it holds spaces. */
function envText(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'boolean') return value ? '1' : '0';
  const text = String(value);
  return /[\s#"'$]/.test(text) ? JSON.stringify(text) : text;
}

/** The text of `.env.example`: every variable of the schema, its default and its meaning. */
export function renderEnvExample(): string {
  const defaults = envSchema.parse({}) as Record<string, unknown>;
  const lines = [ENV_EXAMPLE_HEADER];
  for (const name of Object.keys(envSchema.shape)) {
    const meaning = meaningOf(name);
    if (meaning === undefined) {
      throw new Error(`${name} has no meaning: add .describe('…') in src/config/schema.ts`);
    }
    const shown = defaultText[name as keyof typeof defaultText] ?? envText(defaults[name]);
    lines.push(`# ${meaning}`, `# ${name}=${shown}`, '');
  }
  lines.push('# --- read by compose.yaml only (its published port, the optional cloudflared tunnel) ---', '');
  for (const v of composeVariables) lines.push(`# ${v.meaning}`, `# ${v.name}=${v.defaultValue}`, '');
  return `${lines.join('\n').trimEnd()}\n`;
}
