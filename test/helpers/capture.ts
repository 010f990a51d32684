import type { Log, MetricsSink } from '../../lib/ports.js';

/** A Log that keeps every line (as it would be written) so tests can read and scan them. */
export function capturingLog(): Log & { lines: string[] } {
  const lines: string[] = [];
  const write =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      lines.push(JSON.stringify({ level, message, ...fields }));
    };
  return { lines, info: write('info'), warn: write('warn'), error: write('error') };
}

/** A MetricsSink that keeps every recorded metric. */
export function capturingMetrics(): MetricsSink & {
  recorded: Array<{ name: string; value: number; dimensions?: Record<string, string> }>;
} {
  const recorded: Array<{ name: string; value: number; dimensions?: Record<string, string> }> = [];
  return {
    recorded,
    count: (name, value, dimensions) => recorded.push({ name, value, ...(dimensions ? { dimensions } : {}) }),
    milliseconds: (name, value) => recorded.push({ name, value }),
    flush: () => {},
  };
}

/** Every secret value a test created, to prove none of them reaches a log line, error or output. */
export const createdSecretValues = new Set<string>();

/** Registers a secret value (and its meaningful parts) as one that must never be printed. */
export function rememberSecret(value: string): string {
  createdSecretValues.add(value);
  try {
    const parsed = JSON.parse(value) as unknown;
    if (parsed && typeof parsed === 'object') {
      for (const field of Object.values(parsed as Record<string, unknown>)) {
        if (typeof field === 'string' && field.length >= 8) createdSecretValues.add(field);
      }
    }
  } catch {
    // a plaintext value is remembered whole
  }
  return value;
}

/** The created secret values (or their base64 forms) that occur in `texts`. */
export function leakedSecrets(texts: string[]): string[] {
  const joined = texts.join('\n');
  return [...createdSecretValues].filter(
    (value) => joined.includes(value) || joined.includes(Buffer.from(value).toString('base64')),
  );
}
