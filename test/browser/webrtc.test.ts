import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { isPublicAddress } from '../../src/browser/net-guard.ts';
import { skipWithout } from '../helpers/system-parts.ts';
import { type BrowserTestApp, ok, startBrowserApp } from './browser-app.ts';

/**
 * A page asks WebRTC to gather candidates through a STUN and a TURN server on a private
 * address (127.0.0.2, which this app's rule refuses; the page itself is on 127.0.0.1,
 * which it allows). Gathering sends a STUN binding request (UDP) to each: nothing must
 * arrive, since UDP would go around the egress proxy.
 */
const GATHER = (port: number) => `(async () => {
  const pc = new RTCPeerConnection({ iceServers: [
    { urls: 'stun:127.0.0.2:${port}' },
    { urls: 'turn:127.0.0.2:${port}?transport=udp', username: 'u', credential: 'p' },
  ] });
  pc.createDataChannel('leak');
  const candidates = [];
  pc.onicecandidate = (e) => { if (e.candidate) candidates.push(e.candidate.candidate); };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
    setTimeout(resolve, 4000);
  });
  pc.close();
  return candidates;
})()`;

describe('WebRTC cannot send UDP around the egress proxy', { skip: skipWithout('chromium') }, () => {
  let t: BrowserTestApp;
  let udp: Socket;
  const datagrams: string[] = [];
  before(async () => {
    t = await startBrowserApp(
      { STEALTHY_AUTO_BROWSE_ALLOW_PRIVATE: '0' },
      { isPublicAddress: (ip) => ip === '127.0.0.1' || isPublicAddress(ip) },
    );
    udp = createSocket('udp4');
    udp.on('message', (msg, from) => datagrams.push(`${from.address}:${from.port} ${msg.length}B`));
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.2', () => resolve()));
  });
  after(async () => {
    await t?.close();
    await new Promise<void>((resolve) => (udp ? udp.close(() => resolve()) : resolve()));
  });

  it('sends no STUN/TURN packet to a private address', async () => {
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/` }));
    const res = await t.act({ action: 'eval_js', expression: GATHER(udp.address().port) });
    const candidates = ok(res).result as string[];
    // Let any packet still in flight land before looking.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(datagrams, [], 'WebRTC reached the private STUN/TURN server over UDP');
    assert.ok(
      candidates.every((c) => !/ udp /i.test(c)),
      `UDP candidates were gathered: ${JSON.stringify(candidates)}`,
    );
  });
});
