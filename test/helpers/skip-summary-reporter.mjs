import { Readable } from 'node:stream';
import { spec, tap } from 'node:test/reporters';

/**
 * node's own reporter (spec on a terminal, TAP otherwise, as node picks when none is named),
 * untouched, followed by ONE line saying what was skipped and why: a suite that needs a
 * missing system part is skipped with "needs PART: why; install: LINE" (test/helpers/system-parts.ts),
 * and this line gathers those reasons so a fresh machine's run says what it did not prove.
 */
// Plain JavaScript: node loads reporters before any --import loader hook (tsx) is active.

const NEEDS = /^needs (\S+): (.*); install: (.*)$/;

/** @param {string[]} reasons @returns {string} */
function summarizeSkips(reasons) {
  if (reasons.length === 0) return 'skipped: nothing';
  const byPart = new Map();
  let other = 0;
  for (const reason of reasons) {
    const m = NEEDS.exec(reason);
    if (!m) {
      other += 1;
      continue;
    }
    const [, part = '', why = '', install = ''] = m;
    const seen = byPart.get(part);
    if (seen) seen.count += 1;
    else byPart.set(part, { count: 1, why, install });
  }
  const parts = [...byPart].map(
    ([part, { count, why, install }]) => `${part} missing (${why}) skipped ${count}: ${install}`,
  );
  if (other > 0) parts.push(`${other} skipped in code`);
  return `skipped ${reasons.length}: ${parts.join('; ')}`;
}

/** @param {AsyncIterable<{type: string, data?: {skip?: string | boolean}}>} source */
export default async function* skipSummaryReporter(source) {
  const reasons = [];
  async function* watched() {
    for await (const event of source) {
      const skip = event.data?.skip;
      if (
        (event.type === 'test:pass' || event.type === 'test:fail') &&
        skip !== undefined &&
        skip !== false
      ) {
        reasons.push(typeof skip === 'string' ? skip : 'skipped');
      }
      yield event;
    }
  }
  const isTerminal = process.stdout.isTTY === true;
  const inner = isTerminal ? Readable.from(watched()).pipe(new spec()) : tap(watched());
  for await (const chunk of inner) yield chunk;
  yield `${isTerminal ? '\u2139' : '#'} ${summarizeSkips(reasons)}\n`;
}
