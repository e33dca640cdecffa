import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { AppError } from '../errors.ts';

/** Loopback, private, link-local, CGNAT, multicast and reserved ranges: never a public site. */
const nonPublic = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  nonPublic.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const) {
  nonPublic.addSubnet(net, bits, 'ipv6');
}

export function isPublicAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) return !nonPublic.check(ip, 'ipv4');
  if (family !== 6) return false;
  // IPv4-mapped IPv6 (::ffff:10.0.0.1) reaches the IPv4 host: judge that address instead.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1]) return isPublicAddress(mapped[1]);
  return !nonPublic.check(ip, 'ipv6');
}

/** Why a navigation target is refused, or undefined when it may be loaded. */
export async function refusalOf(rawUrl: string, allowPrivate: boolean): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return `not a valid URL: ${rawUrl}`;
  }
  if (url.href === 'about:blank') return undefined;
  // file:, chrome:, javascript: … would reach the host or the browser itself.
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `scheme ${url.protocol} is not allowed`;
  if (allowPrivate) return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  // Chromium resolves *.localhost to loopback itself, without asking DNS.
  if (host === 'localhost' || host.endsWith('.localhost')) return `${host} is a loopback host`;
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch {
      return undefined; // unresolvable: Chromium will fail the navigation on its own
    }
  }
  // Every address counts: a name with one public and one private address is still refused.
  const bad = addresses.find((a) => !isPublicAddress(a));
  return bad ? `${host} resolves to non-public address ${bad}` : undefined;
}

export async function assertNavigable(rawUrl: string, allowPrivate: boolean): Promise<void> {
  const why = await refusalOf(rawUrl, allowPrivate);
  if (why) {
    throw new AppError(
      'forbidden',
      `Navigation refused: ${why} (private networks are off; STEALTHY_AUTO_BROWSE_ALLOW_PRIVATE=1 allows them)`,
    );
  }
}
