import type { Surface } from '../http/surface.ts';
import { adminSurface } from './admin/index.ts';
import { apiSurface } from './api/index.ts';
import { browserSurface } from './browser/index.ts';
import { claudeCodeApiSurface } from './claude-code-api/index.ts';
import { claudeboxSurface } from './claudebox/index.ts';
import { consoleSurface } from './console/index.ts';
import { healthSurface } from './health/index.ts';
import { mcpSurface } from './mcp/index.ts';
import { metricsSurface } from './metrics/index.ts';
import { openAiSurface } from './openai/index.ts';
import { storageSurface } from './storage/index.ts';

/** Every protocol surface the server serves, in registration order. */
export const allSurfaces: readonly Surface[] = [
  healthSurface,
  claudeCodeApiSurface,
  openAiSurface,
  claudeboxSurface,
  mcpSurface,
  browserSurface,
  storageSurface,
  metricsSurface,
  apiSurface,
  adminSurface,
  consoleSurface,
];
