import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
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
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  nonPublic.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  // IPv4-compatible, IPv4-translated, NAT64 (both), 6to4, Teredo: each embeds an IPv4
  // address that may be private; none is needed to reach a public site.
  ['::', 96],
  ['::ffff:0:0:0', 96],
  ['64:ff9b:1::', 48],
  ['2002::', 16],
  ['2001::', 32],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fec0::', 10],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const) {
  nonPublic.addSubnet(net, bits, 'ipv6');
}

/**
 * This machine's own addresses (a public one included): a service bound to 0.0.0.0 answers
 * on them, so they are as local as loopback. Re-read every few seconds (DHCP, hot-plug).
 */
let localAddresses = new Set<string>();
let localAddressesReadAt = 0;
function isLocalAddress(ip: string): boolean {
  const now = Date.now();
  if (now - localAddressesReadAt > 5_000) {
    localAddressesReadAt = now;
    localAddresses = new Set(
      Object.values(networkInterfaces())
        .flat()
        .flatMap((a) => (a ? [a.address.toLowerCase()] : [])),
    );
  }
  return localAddresses.has(ip.toLowerCase());
}

export function isPublicAddress(ip: string): boolean {
  if (isLocalAddress(ip)) return false;
  const family = isIP(ip);
  if (family === 4) return !nonPublic.check(ip, 'ipv4');
  if (family !== 6) return false;
  // IPv4-mapped IPv6 (::ffff:10.0.0.1) reaches the IPv4 host: judge that address instead.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1]) return isPublicAddress(mapped[1]);
  return !nonPublic.check(ip, 'ipv6');
}

/**
 * getaddrinfo runs on libuv's threadpool (4 threads unless UV_THREADPOOL_SIZE says more),
 * which every file read and write of the server shares. A name whose DNS server never
 * answers holds a thread for the resolver's whole timeout (seconds per try), and callers and
 * agents choose the names looked up here (webhook targets, egress CONNECTs, pages'
 * subresources): unbounded, a few dozen such names stall the server's filesystem for every
 * tenant. At most this many lookups are in flight, process-wide; the rest wait their turn.
 */
const MAX_LOOKUPS_IN_FLIGHT = 2;
let lookupsInFlight = 0;
const waitingLookups: Array<() => void> = [];

async function throttledLookup(resolve: HostResolver, host: string): Promise<string[]> {
  // A finished lookup hands its slot straight to the next waiter (the count stays).
  if (lookupsInFlight >= MAX_LOOKUPS_IN_FLIGHT) await new Promise<void>((r) => waitingLookups.push(r));
  else lookupsInFlight += 1;
  try {
    return await resolve(host);
  } finally {
    const next = waitingLookups.shift();
    if (next) next();
    else lookupsInFlight -= 1;
  }
}

/** A host's addresses, as the system resolver (getaddrinfo: /etc/hosts, then DNS) gives them. */
export type HostResolver = (host: string) => Promise<string[]>;

const systemResolver: HostResolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** Decides whether an address is a public internet address; tests inject their own. */
export type AddressClassifier = (ip: string) => boolean;

export interface NetGuardOptions {
  /** Which addresses count as public. Default: isPublicAddress. Tests only pass another. */
  isPublicAddress?: AddressClassifier;
  /** How long a host's DNS answer (and so its verdict) is reused. */
  cacheTtlMs?: number;
  /** How names are resolved. Default: the system resolver. Tests only pass another. */
  resolve?: HostResolver;
}

/** A host's verdict: the addresses to use, or why it is refused. */
export type HostVerdict =
  | { addresses: string[]; refusal?: undefined }
  | { addresses?: undefined; refusal: string };

const DEFAULT_CACHE_TTL_MS = 10_000;
const MAX_CACHED_HOSTS = 2_000;

/**
 * The private-network rule, shared by the goto check, the browser's request route and the
 * egress proxy, with a short DNS cache: a page's hundred subresources from one host cost
 * one lookup, and every later request to it is a map hit.
 */
export class NetGuard {
  readonly #isPublic: AddressClassifier;
  readonly #ttlMs: number;
  readonly #resolve: HostResolver;
  readonly #cache = new Map<
    string,
    { expires: number; verdict: Promise<HostVerdict>; settled?: HostVerdict }
  >();

  constructor(opts: NetGuardOptions = {}) {
    this.#isPublic = opts.isPublicAddress ?? isPublicAddress;
    this.#ttlMs = opts.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
    this.#resolve = opts.resolve ?? systemResolver;
  }

  /** Why a navigation target is refused, or undefined when it may be loaded. */
  async refusalOf(rawUrl: string, allowPrivate: boolean): Promise<string | undefined> {
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
    return (await this.vetHost(url.hostname)).refusal;
  }

  async assertNavigable(rawUrl: string, allowPrivate: boolean): Promise<void> {
    const why = await this.refusalOf(rawUrl, allowPrivate);
    if (why) {
      throw new AppError(
        'forbidden',
        `Navigation refused: ${why} (private networks are off; STEALTHY_AUTO_BROWSE_ALLOW_PRIVATE=1 allows them)`,
      );
    }
  }

  /**
   * The cached verdict for a host when one is fresh, without waiting: the route's fast path
   * for requests to a host it has seen in the last few seconds.
   */
  cachedVerdict(hostname: string): HostVerdict | undefined {
    const entry = this.#cache.get(normalHost(hostname));
    return entry && entry.expires > Date.now() ? entry.settled : undefined;
  }

  /**
   * Whether a host may be reached, and at which addresses. Every address counts: a name
   * with one public and one private address is refused. An unresolvable name is not refused
   * here (Chromium fails it on its own) but has no addresses to connect to.
   */
  vetHost(hostname: string): Promise<HostVerdict> {
    const host = normalHost(hostname);
    const now = Date.now();
    const cached = this.#cache.get(host);
    if (cached && cached.expires > now) return cached.verdict;
    const entry: { expires: number; verdict: Promise<HostVerdict>; settled?: HostVerdict } = {
      expires: now + this.#ttlMs,
      verdict: this.#judge(host),
    };
    void entry.verdict.then((v) => {
      entry.settled = v;
    });
    this.#cache.delete(host);
    this.#cache.set(host, entry);
    if (this.#cache.size > MAX_CACHED_HOSTS) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    return entry.verdict;
  }

  async #judge(host: string): Promise<HostVerdict> {
    // Chromium resolves *.localhost to loopback itself, without asking DNS.
    if (host === 'localhost' || host.endsWith('.localhost')) return { refusal: `${host} is a loopback host` };
    let addresses: string[];
    if (isIP(host)) addresses = [host];
    else {
      try {
        addresses = await throttledLookup(this.#resolve, host);
      } catch {
        addresses = [];
      }
    }
    const bad = addresses.find((a) => !this.#isPublic(a));
    return bad ? { refusal: `${host} resolves to non-public address ${bad}` } : { addresses };
  }
}

/** `[::1]` → `::1`, case folded, trailing dot dropped (`example.com.` is the same host). */
function normalHost(hostname: string): string {
  return hostname
    .replace(/^\[|\]$/g, '')
    .toLowerCase()
    .replace(/\.$/, '');
}

/** The guard with the real address rule, for callers that were not handed one. */
export const defaultNetGuard = new NetGuard();
