import type { RotationHints } from '../domain/events.js';
import type { Log, MetricsSink } from '../ports.js';
import type { SecretOutcome } from './rotate.js';

/** Records a rotation batch as metrics and one log line per secret (names, versions, hashes; never values). */
export function reportRotation(
  telemetry: { log: Log; metrics: MetricsSink },
  hints: RotationHints,
  outcomes: SecretOutcome[],
  now: Date,
): void {
  const { log, metrics } = telemetry;
  for (const failure of hints.failures) {
    metrics.count('RotationFailed', 1);
    log.warn('rotation failed in Secrets Manager', {
      secretId: failure.secretId,
      reason: failure.reason,
      eventId: failure.eventId,
    });
  }
  for (const record of hints.malformed)
    log.warn('malformed record', { messageId: record.messageId, reason: record.reason });
  for (const ignored of hints.ignored)
    log.info('event ignored', { eventId: ignored.eventId, reason: ignored.reason });
  for (const outcome of outcomes) {
    const regions = outcome.distribution?.regions ?? [];
    const writes =
      outcome.bindings.filter((b) => b.op === 'update').length +
      regions
        .flatMap((r) => r.actions)
        .filter((a) => a.op === 'create' || a.op === 'update' || a.op === 'delete' || a.op === 'release')
        .length;
    const noops =
      outcome.bindings.filter((b) => b.op === 'noop').length +
      regions.flatMap((r) => r.actions).filter((a) => a.op === 'noop').length;
    metrics.count('Writes', writes);
    metrics.count('NoOps', noops);
    for (const region of regions.filter((r) => r.error))
      metrics.count('RegionFailures', 1, { Region: region.region });
    if (outcome.bindings.some((b) => b.op === 'invalid')) metrics.count('RotationFailed', 1);
    if (outcome.sourceCreatedAt && writes > 0 && !outcome.error) {
      metrics.milliseconds('PropagationLatency', now.getTime() - outcome.sourceCreatedAt.getTime());
    }
    const fields = {
      secretId: outcome.secretId,
      versionId: outcome.versionId,
      bindings: outcome.bindings.map((b) => ({
        secret: b.secret,
        op: b.op,
        keys: b.keys,
        hash: b.hash,
        error: b.error,
        serves: b.serves,
        warning: b.warning,
      })),
      regions: regions.map((r) => ({
        region: r.region,
        changes: r.actions
          .filter((a) => a.op !== 'noop')
          .map((a) => `${a.op} ${a.object}${a.hash ? ` ${a.hash}` : ''}`),
        error: r.error,
      })),
      messageIds: outcome.messageIds,
      ...(outcome.messageIds[0] ? { correlationId: outcome.messageIds[0] } : {}),
    };
    if (outcome.error) log.error('rotation not converged', { ...fields, error: outcome.error });
    else log.info('rotation converged', { ...fields, writes, noops });
  }
}
