import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isWorkspaceInScope } from '../../auth/scope.ts';
import { AppError } from '../../errors.ts';
import type { AppDeps } from '../../http/surface.ts';
import { deleteWorkspaceFile, openWorkspaceFile, writeWorkspaceFile } from '../../workspaces/file-streams.ts';
import { assertNoEncodedSeparators } from '../../workspaces/names.ts';
import { userRoot } from '../../workspaces/owners.ts';
import { engineWorkspace, principalOf } from './auth.ts';

type FileRoute = FastifyRequest<{ Params: { workspace: string; '*': string } }>;

/**
 * The files API. `<workspace>` is one URL segment (the first); the rest is the path inside
 * it. Every route checks the raw URL for encoded separators and dot segments before the
 * router's decoded params are trusted, then goes through the engine's one resolver.
 */
export function registerFilesRoutes(scope: FastifyInstance, deps: AppDeps): void {
  scope.addHook('onRequest', async (req) => assertNoEncodedSeparators(req.url));

  const listWorkspaces = async (req: FastifyRequest) => {
    const principal = principalOf(req);
    const entries = await deps.workspaces.listWorkspaces(userRoot(principal.userId));
    // A key limited to a workspace prefix is shown only the workspaces it may open.
    return {
      workspaces: entries
        .filter((e) => isWorkspaceInScope(principal.scope, e.path))
        .map((e) => ({ name: e.path, mtime: e.mtime })),
    };
  };
  scope.get('/files', listWorkspaces);
  scope.get('/files/', listWorkspaces);

  scope.get<{ Params: { workspace: string } }>('/files/:workspace', async (req) => {
    const workspace = engineWorkspace(principalOf(req), req.params.workspace);
    const files = await deps.workspaces.list(workspace, { recursive: true });
    return {
      workspace: req.params.workspace,
      files: files.map((f) => ({ path: f.path, size: f.size, mtime: f.mtime })),
    };
  });

  scope.get('/files/:workspace/*', async (req: FileRoute, reply: FastifyReply) => {
    const { workspace, path } = target(req);
    const file = await openWorkspaceFile(deps.workspaces, workspace, path);
    reply
      .header('content-type', file.contentType)
      .header('content-length', String(file.size))
      .header('last-modified', file.mtime.toUTCString());
    if (req.method === 'HEAD') {
      file.stream.destroy();
      return reply.send();
    }
    return reply.send(file.stream);
  });

  scope.put('/files/:workspace/*', async (req: FileRoute, reply: FastifyReply) => {
    const { workspace, path } = target(req);
    const maxBytes = deps.config.current().FILES_MAX_BYTES;
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      throw new AppError('payload_too_large', `Files are limited to ${maxBytes} bytes`);
    }
    const source = (req.body as Readable | undefined) ?? req.raw;
    const { size } = await writeWorkspaceFile(deps.workspaces, workspace, path, source, maxBytes);
    return reply.status(201).send({ workspace: req.params.workspace, path, size });
  });

  scope.delete('/files/:workspace/*', async (req: FileRoute) => {
    const { workspace, path } = target(req);
    await deleteWorkspaceFile(deps.workspaces, workspace, path);
    return { deleted: true, workspace: req.params.workspace, path };
  });
}

function target(req: FileRoute): { workspace: string; path: string } {
  const path = req.params['*'];
  if (!path) throw new AppError('invalid_request', 'A file path is required after the workspace');
  return { workspace: engineWorkspace(principalOf(req), req.params.workspace), path };
}
