import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { FastifyRequest } from 'fastify';
import { authenticate } from '../../auth/authenticate.ts';
import type { Principal } from '../../auth/principal.ts';
import { admitCaller } from '../../auth/scope.ts';
import { credentialOf } from '../../auth/secrets.ts';
import { AppError } from '../../errors.ts';
import type { AppDeps } from '../../http/surface.ts';
import {
  type AggregateCaller,
  type AggregatedServer,
  type McpCatalog,
  prefixedSink,
  type ToolSession,
  type ToolSink,
} from '../../mcp/catalog.ts';
import type { HostedServer } from '../../mcp/host.ts';
import { CLAUDEBOX, type ClaudeboxInstance, isInstanceAvailable } from '../claudebox/instances.ts';
import { registerFileTools } from './file-tools.ts';
import { registerRunTool } from './run-tool.ts';

/** claude_run and the four file tools of one claudebox instance, for `principal`'s workspaces. */
export function registerClaudeboxTools(
  sink: ToolSink,
  deps: AppDeps,
  principal: Principal,
  instance: ClaudeboxInstance,
): void {
  registerRunTool(sink, deps, principal, instance);
  registerFileTools(sink, deps, principal);
}

/**
 * A claudebox instance in the gateway's /mcp/ under aigate's LiteLLM server name. The
 * master key stands for the instance's own identity (LiteLLM forwarded with the instance's
 * token, and the instance's endpoint takes the master key for that identity too); a stored
 * key for its user, as on the instance's endpoint. The Claude instance always serves; the
 * Z.ai one only when Z.ai is configured (aigate listed it only when enabled).
 */
export function claudeboxAggregate(
  deps: AppDeps,
  instance: ClaudeboxInstance,
  name: string,
): AggregatedServer {
  return {
    name,
    isEnabled: () => instance === CLAUDEBOX || isInstanceAvailable(instance, deps.config.current()),
    register: (sink, caller) => {
      registerClaudeboxTools(
        sink,
        deps,
        caller.isMasterKey ? instance.principal : caller.principal,
        instance,
      );
      return {};
    },
  };
}

/** /mcp/ takes LITELLM_MASTER_KEY (standing for the claudebox identity) or a stored key. */
export async function authenticateGateway(deps: AppDeps, req: FastifyRequest): Promise<Principal> {
  const principal = await authenticate(deps.keys, credentialOf(req.headers), [
    { secret: deps.config.current().LITELLM_MASTER_KEY, principal: CLAUDEBOX.principal },
  ]);
  if (!principal) throw new AppError('unauthorized', 'Missing or invalid bearer token');
  // A key's scope holds here as on each server's own endpoint (its `mcp` surface, its rpm).
  return admitCaller(deps.keys.limiter, principal, 'mcp');
}

/** Who opened an aggregate session: the only surface token /mcp/ takes is the master key. */
export function aggregateCallerOf(req: FastifyRequest, principal: Principal): AggregateCaller {
  return {
    principal,
    isMasterKey: principal.via === 'surface_token',
    host: req.headers.host ?? 'localhost',
    protocol: req.protocol,
  };
}

/**
 * The server of one aggregate session: every enabled server's tools, each registered by
 * the same function as on its own endpoint, under `<server>-<tool>`. A call reaches its
 * server's handler directly (no second hop), with that server's own per-call checks.
 */
export function buildAggregate(catalog: McpCatalog, caller: AggregateCaller): HostedServer {
  const server = new McpServer({ name: 'agentgate', version: '1.0.0' });
  const allowed = caller.principal.scope?.surfaces;
  const sessions: ToolSession[] = catalog
    .enabled()
    .filter((hosted) => hosted.surface === undefined || !allowed || allowed.some((s) => s === hosted.surface))
    .map((hosted) => hosted.register(prefixedSink(server, hosted.name), caller));
  return {
    server,
    onClose: () => {
      for (const s of sessions) s.onClose?.();
    },
  };
}
