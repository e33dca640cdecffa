import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { EgressProxy } from '../../src/browser/egress-proxy.ts';
import { NetGuard } from '../../src/browser/net-guard.ts';

/** A SOCKS5 CONNECT by IPv4 (atyp 1) or name (atyp 3); resolves to the reply code and the open socket. */
async function socksConnect(
  proxyUrl: string,
  host: string,
  port: number,
): Promise<{ rep: number; socket: Socket }> {
  const { hostname, port: proxyPort } = new URL(proxyUrl);
  const socket = connect({ host: hostname, port: Number(proxyPort) });
  await new Promise((resolve) => socket.once('connect', resolve));
  const portBytes = [port >> 8, port & 0xff];
  const address = /^\d+\.\d+\.\d+\.\d+$/.test(host)
    ? [0x01, ...host.split('.').map(Number)]
    : [0x03, host.length, ...Buffer.from(host, 'latin1')];
  // Greeting and request in one write: the proxy must cope with both arriving together.
  socket.write(Buffer.from([0x05, 0x01, 0x00, 0x05, 0x01, 0x00, ...address, ...portBytes]));
  const replies: Buffer[] = [];
  const rep = await new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      replies.push(chunk);
      const all = Buffer.concat(replies);
      if (all.length < 2 + 10) return;
      socket.off('data', onData);
      assert.deepEqual([...all.subarray(0, 2)], [0x05, 0x00], 'no-auth method chosen');
      resolve(all[3] as number); // method reply (2 bytes), then VER REP …
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
  return { rep, socket };
}

describe('egress proxy', () => {
  let target: Server;
  let targetPort: number;
  let proxy: EgressProxy;
  let proxyUrl: string;
  before(async () => {
    target = createServer((s) => s.on('data', (d) => s.write(`echo:${d}`)));
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    targetPort = (target.address() as { port: number }).port;
    proxy = new EgressProxy(new NetGuard({ isPublicAddress: (ip) => ip === '127.0.0.1' }));
    proxyUrl = await proxy.url();
  });
  after(async () => {
    await proxy?.close();
    await new Promise((resolve) => target?.close(resolve));
  });

  it('connects to allowed addresses and relays both ways', async () => {
    const { rep, socket } = await socksConnect(proxyUrl, '127.0.0.1', targetPort);
    assert.equal(rep, 0x00);
    socket.write('hi');
    const got = await new Promise<string>((resolve) => socket.once('data', (d) => resolve(String(d))));
    assert.equal(got, 'echo:hi');
    socket.destroy();
  });

  it('refuses non-public addresses and local names, and says why', async () => {
    for (const host of ['127.0.0.2', 'localhost', 'app.localhost']) {
      const { rep, socket } = await socksConnect(proxyUrl, host, targetPort);
      assert.equal(rep, 0x02, `${host}: connection not allowed by ruleset`);
      assert.equal(proxy.lastFailure?.kind, 'refused');
      assert.equal(proxy.lastFailure?.host, host);
      socket.destroy();
    }
  });

  it('reports names that do not resolve as unreachable', async () => {
    const { rep, socket } = await socksConnect(proxyUrl, 'no-such-host.invalid', 80);
    assert.equal(rep, 0x04);
    assert.equal(proxy.lastFailure?.kind, 'unresolved');
    socket.destroy();
  });
});
