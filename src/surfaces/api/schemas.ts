import { z } from 'zod';

/**
 * The Runs API's shapes: these zod schemas validate requests and serialize responses, and
 * /openapi.json is generated from them, so the document cannot drift from the code. Every
 * example here is checked against its schema by test/api/openapi.test.ts.
 */

const RUN_ID_EXAMPLE = '0b5f7c1e-3a52-4d7e-9a39-3f0d2b1c9e11';

export const runStatusSchema = z
  .enum(['queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out'])
  .meta({ description: 'Where the run stands; the last four are final.' });

export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.string().meta({ description: 'Machine-readable: unauthorized, invalid_request, not_found, …' }),
      message: z.string(),
    }),
  })
  .meta({
    id: 'Error',
    description: 'Every error of the agentgate API.',
    examples: [{ error: { code: 'not_found', message: `No run ${RUN_ID_EXAMPLE}` } }],
  });

export const createRunBodySchema = z
  .object({
    prompt: z.string().min(1, 'prompt is required').meta({ description: 'What the agent is asked.' }),
    workspace: z.string().min(1).max(512).optional().meta({
      description: "The caller's workspace to run in (default `default`); the same names as claudebox's.",
    }),
    sessionId: z.string().min(1).max(200).optional().meta({
      description:
        "A session name of the caller's: runs with the same name continue one conversation (created on first use). Without it the run starts a fresh conversation.",
    }),
    model: z.string().min(1).max(200).optional(),
    systemPrompt: z.string().optional(),
    appendSystemPrompt: z.string().optional(),
    jsonSchema: z.record(z.string(), z.unknown()).optional().meta({
      description: 'A JSON Schema the answer must satisfy; the result then carries structuredOutput.',
    }),
    effort: z.enum(['low', 'medium', 'high', 'max']).optional(),
    timeoutMs: z.number().int().min(1000).optional().meta({ description: 'At most 10 × RUN_TIMEOUT_MS.' }),
    tier: z.enum(['observe', 'edit', 'full']).optional().meta({
      description:
        'Permission tier: `observe` (read-only tools), `edit` (+ file edits) or `full` (every tool). Defaults to the tier of the key; may be lower, never higher.',
    }),
    // Bounded: it is stored with the run, listed and sent in every attempt's request line.
    webhookUrl: z.url().max(2048).optional().meta({
      description:
        'POSTed the final run (signed, see docs/api.md) when it settles; at most 2048 characters. Needs WEBHOOK_SECRET on the server; private targets need WEBHOOK_ALLOW_PRIVATE=1.',
    }),
  })
  .meta({
    id: 'CreateRun',
    examples: [
      { prompt: 'List the files here', workspace: 'myproject' },
      {
        prompt: 'Summarise README.md',
        sessionId: 'docs-chat',
        webhookUrl: 'https://example.com/hooks/agentgate',
      },
    ],
  });

export type CreateRunBody = z.infer<typeof createRunBodySchema>;

export const createdRunSchema = z
  .object({
    id: z.string(),
    status: z.enum(['queued', 'running']),
    workspace: z.string(),
    createdAt: z.string().meta({ description: 'ISO 8601' }),
  })
  .meta({
    id: 'CreatedRun',
    examples: [
      { id: RUN_ID_EXAMPLE, status: 'queued', workspace: 'myproject', createdAt: '2026-12-02T20:00:00.000Z' },
    ],
  });

const usageSchema = z.object({
  inputTokens: z.number(),
  outputTokens: z.number(),
  cacheReadInputTokens: z.number(),
  cacheCreationInputTokens: z.number(),
});

export const runSchema = z
  .object({
    id: z.string(),
    owner: z
      .string()
      .meta({ description: 'The user (or service: claudebox, claude-ops, …) the run belongs to.' }),
    status: runStatusSchema,
    workspace: z
      .string()
      .meta({ description: "Relative to the owner's root (`` for the root itself, as /run uses it)." }),
    prompt: z.string(),
    model: z.string().nullable(),
    sessionId: z.string().nullable().meta({ description: "The agent's session id, once known." }),
    tier: z.string(),
    sandbox: z.string().nullable(),
    node: z
      .string()
      .nullable()
      .meta({ description: 'The node (NODE_ID) that executed the run; null until it starts.' }),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    timings: z.object({
      queuedMs: z.number().nullable().meta({ description: 'From creation to start.' }),
      runMs: z.number().nullable().meta({ description: 'From start to finish.' }),
    }),
    result: z
      .object({
        subtype: z.string(),
        isError: z.boolean(),
        text: z.string(),
        structuredOutput: z.unknown().optional(),
        numTurns: z.number(),
      })
      .nullable(),
    usage: usageSchema.nullable(),
    costUsd: z.number().nullable(),
    error: z.string().nullable(),
  })
  .meta({
    id: 'Run',
    examples: [
      {
        id: RUN_ID_EXAMPLE,
        owner: 'alice',
        status: 'succeeded',
        workspace: 'myproject',
        prompt: 'List the files here',
        model: null,
        sessionId: '5d2c7d4e-1b1a-4f55-9a62-0e6c1d2b3a4f',
        tier: 'full',
        sandbox: 'bwrap',
        node: 'node-a',
        createdAt: '2026-12-02T20:00:00.000Z',
        startedAt: '2026-12-02T20:00:00.120Z',
        finishedAt: '2026-12-02T20:00:03.400Z',
        timings: { queuedMs: 120, runMs: 3280 },
        result: { subtype: 'success', isError: false, text: 'README.md\nsrc/', numTurns: 2 },
        usage: { inputTokens: 1200, outputTokens: 40, cacheReadInputTokens: 0, cacheCreationInputTokens: 0 },
        costUsd: 0.0042,
        error: null,
      },
    ],
  });

export type ApiRun = z.infer<typeof runSchema>;

export const runSummarySchema = z
  .object({
    id: z.string(),
    owner: z.string(),
    status: runStatusSchema,
    workspace: z.string(),
    promptExcerpt: z.string().meta({ description: 'The first 200 characters of the prompt.' }),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
  })
  .meta({ id: 'RunSummary' });

export const listRunsQuerySchema = z
  .object({
    status: runStatusSchema.optional(),
    workspace: z.string().min(1).max(512).optional().meta({ description: "One of the caller's workspaces." }),
    owner: z.string().min(1).max(64).optional().meta({ description: "Admins only: one owner's runs." }),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().min(1).max(500).optional().meta({ description: 'nextCursor of the previous page.' }),
  })
  .meta({ examples: [{ status: 'running', limit: 20 }] });

export const runListSchema = z
  .object({
    runs: z.array(runSummarySchema),
    nextCursor: z
      .string()
      .nullable()
      .meta({ description: 'Pass as `cursor` for the next page; null at the end.' }),
  })
  .meta({
    id: 'RunList',
    examples: [
      {
        runs: [
          {
            id: RUN_ID_EXAMPLE,
            owner: 'alice',
            status: 'running',
            workspace: 'default',
            promptExcerpt: 'Refactor the parser',
            createdAt: '2026-12-02T20:00:00.000Z',
            startedAt: '2026-12-02T20:00:00.100Z',
            finishedAt: null,
          },
        ],
        nextCursor: null,
      },
    ],
  });

export const runParamsSchema = z.object({ id: z.string().min(1).max(100) });

export const eventsQuerySchema = z.object({
  after: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .meta({ description: 'Resume after this seq (Last-Event-ID takes precedence).' }),
});

export const webhookAttemptSchema = z.object({
  attempt: z.number().int(),
  at: z.string(),
  httpStatus: z.number().int().nullable(),
  error: z.string().nullable(),
  responseExcerpt: z
    .string()
    .nullable()
    .meta({ description: 'At most the first 256 characters of the answer.' }),
  durationMs: z.number(),
});

export const webhookDeliverySchema = z.object({
  id: z.string(),
  url: z.string(),
  state: z.enum(['waiting', 'pending', 'delivered', 'failed']).meta({
    description:
      'waiting: the run has not settled; pending: being delivered or retried; delivered: a 2xx came back; failed: retries ran out.',
  }),
  createdAt: z.string(),
  nextAttemptAt: z.string().nullable(),
  attempts: z.array(webhookAttemptSchema),
});

export const webhookListSchema = z.object({ deliveries: z.array(webhookDeliverySchema) }).meta({
  id: 'WebhookDeliveries',
  examples: [
    {
      deliveries: [
        {
          id: '9e0c7a51-8c5d-4a3b-b1d8-2f4f1c0a7e22',
          url: 'https://example.com/hooks/agentgate',
          state: 'delivered',
          createdAt: '2026-12-02T20:00:00.000Z',
          nextAttemptAt: null,
          attempts: [
            {
              attempt: 1,
              at: '2026-12-02T20:00:03.500Z',
              httpStatus: 500,
              error: null,
              responseExcerpt: 'oops',
              durationMs: 12,
            },
            {
              attempt: 2,
              at: '2026-12-02T20:00:13.500Z',
              httpStatus: 200,
              error: null,
              responseExcerpt: 'ok',
              durationMs: 9,
            },
          ],
        },
      ],
    },
  ],
});
