import type { Logger } from '@aws-lambda-powertools/logger';
import type { Log } from '../ports.js';

/** Field names whose values are never logged, whatever they hold. */
const DENIED =
  /^(data|stringData|secretString|SecretString|SecretBinary|value|password|token|clientSecret|SecretAccessKey|requestObject|responseObject|kubeconfig)$/i;
const MAX_TEXT = 300;

/**
 * Returns a copy of log fields safe to write: denied field names are replaced, long strings cut, and
 * every text that equals or contains a registered secret value masked.
 */
export function redact(
  fields: Record<string, unknown>,
  secrets: ReadonlySet<string> = new Set(),
): Record<string, unknown> {
  const walk = (value: unknown, depth: number): unknown => {
    if (typeof value === 'string') return maskText(value, secrets);
    if (depth > 5 || value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((item) => walk(item, depth + 1));
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        k,
        DENIED.test(k) ? '[redacted]' : walk(v, depth + 1),
      ]),
    );
  };
  return walk(fields, 0) as Record<string, unknown>;
}

function maskText(text: string, secrets: ReadonlySet<string>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    // Secret data travels base64-encoded: a copied `data` field leaks the value in that form.
    for (const form of [secret, Buffer.from(secret).toString('base64')])
      if (out.includes(form)) out = out.split(form).join('[redacted]');
  }
  return out.length > MAX_TEXT ? `${out.slice(0, MAX_TEXT)}…` : out;
}

/** The Log port over a Powertools Logger, with every message and field passed through `redact`. */
export function powertoolsLog(logger: Logger, secrets: ReadonlySet<string> = new Set()): Log {
  const emit =
    (level: 'info' | 'warn' | 'error') =>
    (message: string, fields: Record<string, unknown> = {}) =>
      logger[level](maskText(message, secrets), redact(fields, secrets));
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}
