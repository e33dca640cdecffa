import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetGuard } from '../../src/browser/net-guard.ts';

describe('host lookups cannot take the whole libuv threadpool (attack replay)', () => {
  it('names whose DNS never answers hold at most two lookups at once, and the rest still resolve', async () => {
    // Stands in for getaddrinfo on names of an attacker's DNS zone that never answers: each
    // call holds one of libuv's 4 threads (which the filesystem shares) until released.
    let inFlight = 0;
    let maxInFlight = 0;
    const held: Array<() => void> = [];
    const resolve = async (host: string): Promise<string[]> => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise<void>((r) => held.push(r));
      inFlight -= 1;
      return host.startsWith('public') ? ['93.184.216.34'] : [];
    };
    // Two guards (webhooks, agents' egress): the bound is the process's, not each guard's.
    const guards = [new NetGuard({ resolve }), new NetGuard({ resolve })];
    // Webhook targets and egress CONNECTs with 40 distinct random names: no cache helps.
    const verdicts = Array.from({ length: 40 }, (_, i) =>
      (guards[i % 2] as NetGuard).vetHost(`${i === 39 ? 'public' : 'slow'}-${i}.attacker.example`),
    );
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(maxInFlight <= 2, `${maxInFlight} lookups held threadpool threads at once`);
    // The resolver answers at last: every waiting lookup gets its turn, in order.
    while (held.length > 0 || inFlight > 0) {
      for (const release of held.splice(0)) release();
      await new Promise((r) => setTimeout(r, 1));
    }
    const settled = await Promise.all(verdicts);
    assert.equal(settled.length, 40);
    assert.deepEqual(settled[39], { addresses: ['93.184.216.34'] });
    assert.ok(maxInFlight <= 2, `${maxInFlight} lookups held threadpool threads at once`);
  });
});
