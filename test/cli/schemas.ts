import { z } from 'zod';

// The `--json` shapes documented in lib/cli/README.md, strict so an undocumented field fails a test.

const action = z.object({
  op: z.enum(['create', 'update', 'noop', 'skip-unmanaged', 'skip-older', 'release', 'delete']),
  key: z.string(),
  object: z.string(),
  hash: z.string().optional(),
  previousHash: z.string().optional(),
  detail: z.string().optional(),
});
const region = z.strictObject({ region: z.string(), error: z.string().optional(), actions: z.array(action) });

/** `status --json`, as lib/cli/README.md documents it. */
export const statusSchema = z.strictObject({
  ok: z.boolean(),
  bindings: z.array(
    z.strictObject({
      secret: z.string(),
      source: z.string().optional(),
      format: z.string().optional(),
      sourceVersion: z.string().optional(),
      managementVersion: z.string().optional(),
      syncedAt: z.string().optional(),
      state: z.enum(['ok', 'stale', 'error']),
      error: z.string().optional(),
      why: z.string().optional(),
    }),
  ),
  credentials: z.array(
    z.strictObject({
      credential: z.string(),
      region: z.string(),
      identity: z.string(),
      ready: z.boolean(),
      state: z.enum(['ok', 'drift', 'error']),
      error: z.string().optional(),
      objects: z.array(
        z.strictObject({
          object: z.string(),
          op: z.string(),
          version: z.string().optional(),
          syncedAt: z.string().optional(),
          hash: z.string().optional(),
          previousHash: z.string().optional(),
          drift: z.boolean(),
        }),
      ),
    }),
  ),
  regions: z.array(
    z.strictObject({
      region: z.string(),
      state: z.enum(['ok', 'drift', 'error']),
      error: z.string().optional(),
      cleanup: z.array(action),
    }),
  ),
  propagation: z
    .array(
      z.strictObject({
        secretId: z.string(),
        versionId: z.string(),
        holding: z.number(),
        total: z.number(),
        announced: z.boolean(),
        targets: z.array(
          z.strictObject({
            target: z.string(),
            holding: z.number(),
            total: z.number(),
            error: z.string().optional(),
          }),
        ),
      }),
    )
    .optional(),
});

const source = z.strictObject({
  secretId: z.string(),
  versionId: z.string().optional(),
  error: z.string().optional(),
  bindings: z.array(
    z.looseObject({
      secret: z.string(),
      format: z.string(),
      op: z.enum(['update', 'noop', 'invalid', 'failed']),
      versionId: z.string().optional(),
      previousVersion: z.string().optional(),
      keys: z.array(z.string()).optional(),
      hash: z.string().optional(),
      previousHash: z.string().optional(),
      error: z.string().optional(),
    }),
  ),
  regions: z.array(region),
});

/** `resync --json` and `plan --json`. */
export const resyncSchema = z.strictObject({
  ok: z.boolean(),
  dryRun: z.boolean(),
  writes: z.number().int(),
  failed: z.array(z.string()),
  sources: z.array(source),
  regions: z.array(region),
  problems: z.array(z.string()),
});

/** `replay FILE --json`. */
export const replaySchema = z.strictObject({
  ok: z.boolean(),
  dryRun: z.boolean(),
  writes: z.number().int(),
  failed: z.array(z.string()),
  ignored: z.array(z.string()),
  input: z.strictObject({
    audit: z.strictObject({
      received: z.number(),
      kept: z.number(),
      dropped: z.number(),
      quarantined: z.number(),
    }),
    unsupported: z.array(z.string()),
  }),
  sources: z.array(source),
  jobs: z.array(
    z.strictObject({
      messageId: z.string(),
      object: z.string(),
      change: z.string(),
      error: z.string().optional(),
      regions: z.array(region),
    }),
  ),
});

/** `replay --dlq --json`. */
export const dlqSchema = z.strictObject({
  ok: z.boolean(),
  queue: z.string(),
  action: z.enum(['list', 'rerun', 'move']),
  target: z.string().optional(),
  messages: z.array(
    z.strictObject({
      messageId: z.string(),
      sentAt: z.string().optional(),
      firstReceivedAt: z.string().optional(),
      receiveCount: z.number().optional(),
      groupId: z.string().optional(),
      attributes: z.record(z.string(), z.string()),
      kind: z.enum(['rotation', 'distribution', 'unreadable']),
      subject: z.string().optional(),
      outcome: z.enum(['listed', 'rerun-ok', 'rerun-failed', 'moved', 'move-failed', 'planned']),
      error: z.string().optional(),
    }),
  ),
});
