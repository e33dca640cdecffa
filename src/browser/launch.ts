import { access, constants } from 'node:fs/promises';
import { type Browser, chromium } from 'playwright-core';
import { AppError } from '../errors.ts';

export interface LaunchOptions {
  executablePath: string;
  /** V8 old-space cap for every renderer, i.e. per page: the practical per-replica memory bound. */
  maxHeapMb: number;
}

/**
 * Flags for one shared headless Chromium. We run as root (hence --no-sandbox) on a closed
 * network: the background-networking flags stop Chromium from flooding it with update,
 * sync and field-trial requests. AutomationControlled is what sets navigator.webdriver.
 *
 * WebRTC's STUN/TURN traffic is UDP, which neither the request route nor the SOCKS5 egress
 * proxy sees: a page could send packets to any address. disable_non_proxied_udp leaves
 * WebRTC no UDP at all (SOCKS5 cannot carry it); measured, --webrtc-ip-handling-policy is
 * the switch headless Chromium obeys, the --force-… one alone is not.
 */
export function chromiumArgs(opts: LaunchOptions): string[] {
  return [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--webrtc-ip-handling-policy=disable_non_proxied_udp',
    '--force-webrtc-ip-handling-policy=disable_non_proxied_udp',
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-domain-reliability',
    '--disable-breakpad',
    '--disable-dev-shm-usage',
    '--disable-blink-features=AutomationControlled',
    '--lang=en-US',
    `--js-flags=--max-old-space-size=${opts.maxHeapMb}`,
  ];
}

/** Launches Chromium, or says plainly why it cannot (missing binary is the usual cause). */
export async function launchChromium(opts: LaunchOptions): Promise<Browser> {
  try {
    await access(opts.executablePath, constants.X_OK);
  } catch {
    throw new AppError(
      'unavailable',
      `Chromium not found at ${opts.executablePath}: install Debian's "chromium" package or set CHROMIUM_PATH`,
    );
  }
  try {
    return await chromium.launch({
      executablePath: opts.executablePath,
      headless: true,
      args: chromiumArgs(opts),
      // Playwright's own flag shows "controlled by automated software" and sets webdriver.
      ignoreDefaultArgs: ['--enable-automation'],
    });
  } catch (err) {
    throw new AppError('unavailable', `Chromium failed to start: ${(err as Error).message.split('\n')[0]}`);
  }
}
