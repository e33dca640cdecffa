import { Readable } from 'node:stream';
import { z } from 'zod';
import type { Principal } from '../../auth/principal.ts';
import { isWorkspaceInScope } from '../../auth/scope.ts';
import { AppError } from '../../errors.ts';
import type { AppDeps } from '../../http/surface.ts';
import type { ToolSink } from '../../mcp/catalog.ts';
import { jsonText, toolCall } from '../../mcp/tool-result.ts';
import { deleteWorkspaceFile, openWorkspaceFile, writeWorkspaceFile } from '../../workspaces/file-streams.ts';
import { userRoot } from '../../workspaces/owners.ts';
import { engineWorkspace } from '../claudebox/auth.ts';

/**
 * A tool result travels in one JSON-RPC message, held in memory on both sides: reads are
 * capped here as well as by FILES_MAX_BYTES. Bigger files go through the streaming files API.
 */
const MAX_TOOL_READ_BYTES = 16 * 1024 * 1024;

const workspace = z
  .string()
  .optional()
  .describe('Workspace name, e.g. "myproject" (the same workspaces as claude_run). Default "default"');
const path = z
  .string()
  .min(1)
  .describe('File path relative to the workspace, "/"-separated, e.g. "src/main.go"; no ".." or leading "/"');

/** read_file, write_file, list_files, delete_file: the files API as tools, same resolver and limits. */
export function registerFileTools(server: ToolSink, deps: AppDeps, principal: Principal): void {
  server.registerTool(
    'read_file',
    {
      description:
        'Read a file from a workspace. Text files come back as text; binary files as a base64 resource with their detected MIME type.',
      inputSchema: { workspace, path },
    },
    (args) =>
      toolCall(async () => {
        const file = await openWorkspaceFile(
          deps.workspaces,
          engineWorkspace(principal, args.workspace),
          args.path,
        );
        const limit = Math.min(MAX_TOOL_READ_BYTES, deps.config.current().FILES_MAX_BYTES);
        if (file.size > limit) {
          file.stream.destroy();
          throw new AppError(
            'payload_too_large',
            `"${args.path}" is ${file.size} bytes; read_file returns at most ${limit} (use the files API for larger files)`,
          );
        }
        const parts: Buffer[] = [];
        for await (const chunk of file.stream) parts.push(chunk as Buffer);
        const data = Buffer.concat(parts);
        if (file.contentType.startsWith('text/'))
          return { content: [{ type: 'text', text: data.toString('utf8') }] };
        return {
          content: [
            {
              type: 'resource',
              resource: {
                uri: `claudebox://${encodeURIComponent(args.workspace || 'default')}/${args.path}`,
                mimeType: file.contentType,
                blob: data.toString('base64'),
              },
            },
          ],
        };
      }),
  );

  server.registerTool(
    'write_file',
    {
      description:
        'Create or replace a file in a workspace (parent directories are created). Pass text as is, or binary data base64-encoded with encoding "base64".',
      inputSchema: {
        workspace,
        path,
        content: z.string().describe('The file content'),
        encoding: z.enum(['utf8', 'base64']).optional().describe('How content is encoded. Default "utf8"'),
      },
    },
    (args) =>
      toolCall(async () => {
        const data = Buffer.from(args.content, args.encoding === 'base64' ? 'base64' : 'utf8');
        const { size } = await writeWorkspaceFile(
          deps.workspaces,
          engineWorkspace(principal, args.workspace),
          args.path,
          Readable.from([data]),
          deps.config.current().FILES_MAX_BYTES,
        );
        return jsonText({ written: true, workspace: args.workspace || 'default', path: args.path, size });
      }),
  );

  server.registerTool(
    'list_files',
    {
      description:
        'List every file of a workspace (recursive) with size and modification time. Without a workspace, list your workspaces.',
      inputSchema: { workspace: workspace.describe('Workspace to list; omit to list your workspaces') },
    },
    (args) =>
      toolCall(async () => {
        if (!args.workspace) {
          const entries = await deps.workspaces.listWorkspaces(userRoot(principal.userId));
          return jsonText({
            workspaces: entries
              .filter((e) => isWorkspaceInScope(principal.scope, e.path))
              .map((e) => ({ name: e.path, mtime: e.mtime })),
          });
        }
        const files = await deps.workspaces.list(engineWorkspace(principal, args.workspace));
        return jsonText({
          workspace: args.workspace,
          files: files.map((f) => ({ path: f.path, size: f.size, mtime: f.mtime })),
        });
      }),
  );

  server.registerTool(
    'delete_file',
    {
      description: 'Delete one file from a workspace (not a directory).',
      inputSchema: { workspace, path },
    },
    (args) =>
      toolCall(async () => {
        await deleteWorkspaceFile(deps.workspaces, engineWorkspace(principal, args.workspace), args.path);
        return jsonText({ deleted: true, workspace: args.workspace || 'default', path: args.path });
      }),
  );
}
