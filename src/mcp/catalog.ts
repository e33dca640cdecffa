import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Principal } from '../auth/principal.ts';

/**
 * Where one MCP server's tools are registered: its own endpoint's McpServer, or the
 * gateway's aggregate under prefixed names. Each server's tools are defined once, by one
 * function taking a sink, and both endpoints call it.
 */
export type ToolSink = Pick<McpServer, 'registerTool'>;

/** Who opened an aggregate session, and through which request (a tool may build URLs from it). */
export interface AggregateCaller {
  /** The principal /mcp/'s credential stands for (the master key: the claudebox service identity). */
  principal: Principal;
  /** True when the credential was LITELLM_MASTER_KEY, which LiteLLM used to forward with each server's own token. */
  isMasterKey: boolean;
  /** The request's Host (already checked against DNS rebinding) and protocol. */
  host: string;
  protocol: string;
}

/** What a server's tools hold for one session. */
export interface ToolSession {
  /** Called once when the session ends (a browser replica released, …). */
  onClose?: () => void;
}

/** One MCP server as the gateway's /mcp/ serves it, beside its own endpoint. */
export interface AggregatedServer {
  /** LiteLLM's `server_name` for it: its tools are listed as `<name>-<tool>`. */
  readonly name: string;
  /** Whether it serves now (checked per session: a server turned off by config contributes no tools). */
  isEnabled(): boolean;
  /**
   * The key-scope surface its own endpoint requires besides `mcp` (e.g. `browser`): a key
   * whose scope leaves it out gets none of its tools here either.
   */
  readonly surface?: string;
  /**
   * Registers its tools for one session of `caller`, with the same authorisation and
   * ownership as its own endpoint gives that caller's credential.
   */
  register(sink: ToolSink, caller: AggregateCaller): ToolSession;
}

/**
 * LiteLLM's aggregation rule (litellm/proxy/_experimental/mcp_server/utils.py): every tool
 * of server S is listed and called as `S` + MCP_TOOL_PREFIX_SEPARATOR (default `-`) + tool,
 * a server name may not contain the separator, and spaces in it become `_`. agentgate's
 * server names are aigate's LiteLLM config keys, so its clients' tool names carry over.
 */
export const TOOL_PREFIX_SEPARATOR = '-';

const SERVER_NAME = /^[A-Za-z0-9_]+$/;

export function aggregateToolName(serverName: string, toolName: string): string {
  return `${serverName}${TOOL_PREFIX_SEPARATOR}${toolName}`;
}

/** A sink that registers each tool on `server` under `<serverName>-<tool>`. */
export function prefixedSink(server: McpServer, serverName: string): ToolSink {
  const registerTool = (...args: Parameters<McpServer['registerTool']>) =>
    server.registerTool(aggregateToolName(serverName, args[0]), args[1], args[2]);
  // The wrapper forwards registerTool's arguments unchanged; only its generics are lost in Parameters<>.
  return { registerTool: registerTool as McpServer['registerTool'] };
}

/**
 * The MCP servers this app serves, filled by the surfaces as they register (a surface not
 * served adds nothing) and read per aggregate session. One per app (a Fastify decoration).
 */
export class McpCatalog {
  readonly #servers = new Map<string, AggregatedServer>();

  add(server: AggregatedServer): void {
    if (!SERVER_NAME.test(server.name)) throw new Error(`Invalid MCP server name: ${server.name}`);
    if (this.#servers.has(server.name)) throw new Error(`MCP server ${server.name} is registered twice`);
    this.#servers.set(server.name, server);
  }

  /** The servers serving now, in registration order. */
  enabled(): AggregatedServer[] {
    return [...this.#servers.values()].filter((s) => s.isEnabled());
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every MCP server of this app, for the gateway's aggregate /mcp/. */
    mcpCatalog: McpCatalog;
  }
}
