/** Polls `check` until it holds, or throws once `withinMs` has passed. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  withinMs = 15_000,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
