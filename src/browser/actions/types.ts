import type { Page } from 'playwright-core';
import type { z } from 'zod';
import type { BrowserSession } from '../browser-session.ts';
import type { NetGuard } from '../net-guard.ts';
import type { PngResizer } from '../screenshot.ts';

/**
 * Key under which an action's data carries raw bytes (save_screenshot's PNG) for run_script's
 * output_id. A symbol, so JSON responses never include it.
 */
export const BINARY = Symbol('binary');

/** What one action gets: the replica's page and the bounds it must respect. */
export interface ActionContext {
  /** The session's active tab when the action started. */
  page: Page;
  /** Tabs, dialogs and logs of this replica. */
  session: BrowserSession;
  /** Upper bound for this action in ms (STEALTHY_AUTO_BROWSE_ACTION_TIMEOUT_MS). */
  timeoutMs: number;
  allowPrivate: boolean;
  /** The private-network rule goto checks targets against. */
  netGuard: NetGuard;
  /** Resizes screenshots as the original does. */
  resizePng: PngResizer;
  /** A file this replica's owner downloaded, by its stored name (never a host path). */
  readDownload(name: string): Promise<Buffer>;
  /** Throws this replica's context (tabs, cookies, storage) away once the action is done. */
  discardAfter(): void;
}

/**
 * One atomic action: its name on the wire (and as an MCP tool), its parameters, and what
 * it does. `run` returns the response's `data`; failures throw.
 */
export interface BrowserAction<P extends z.ZodObject = z.ZodObject> {
  name: string;
  description: string;
  params: P;
  run(ctx: ActionContext, params: z.infer<P>): Promise<unknown>;
}

export type AnyBrowserAction = BrowserAction<z.ZodObject>;

/** Keeps each action's params typed where it is written, and erases them for the registry. */
export function defineAction<P extends z.ZodObject>(action: BrowserAction<P>): AnyBrowserAction {
  return action as unknown as AnyBrowserAction;
}

/**
 * The seed's waits take seconds (`"timeout": 5`, default 30). Every wait is still cut to the
 * server's action timeout, so no request can hold a replica longer than that.
 */
export function waitBudgetMs(ctx: ActionContext, timeoutS: number | undefined, defaultS = 30): number {
  return Math.max(1, Math.min(ctx.timeoutMs, Math.round((timeoutS ?? defaultS) * 1000)));
}
