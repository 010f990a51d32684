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

// The registry of created values and the scan live in leak-scan.ts; re-exported for the suites' imports.
export { createdSecretValues, leakedSecrets, rememberSecret, scanForLeaks } from './leak-scan.js';
