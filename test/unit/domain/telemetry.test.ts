import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EVENT_REASONS, METRICS } from '../../../lib/domain/telemetry.js';

// The vocabulary is only worth its name if the code, the stack and the README all speak it: a metric an
// alarm watches but nothing emits would leave the alarm silent for ever.

const ROOT = join(import.meta.dirname, '..', '..', '..');
const VOCABULARY = join(ROOT, 'lib', 'domain', 'telemetry.ts');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') && path !== VOCABULARY ? [path] : [];
  });
}

const code = [...sources(join(ROOT, 'lib')), ...sources(join(ROOT, 'functions'))]
  .map((path) => readFileSync(path, 'utf8'))
  .join('\n');
const monitoring = readFileSync(join(ROOT, 'infra', 'constructs', 'monitoring.ts'), 'utf8');
const runbook = readFileSync(join(ROOT, 'docs', 'runbook.md'), 'utf8');
const docs = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((f) => join('docs', f))]
  .map((path) => readFileSync(join(ROOT, path), 'utf8'))
  .join('\n');

describe('the telemetry vocabulary', () => {
  it.each(Object.keys(METRICS))('metric %s is emitted by the code', (name) => {
    expect(code).toMatch(new RegExp(`\\.(count|milliseconds)\\(\\s*'${name}'`));
  });

  it.each(Object.keys(EVENT_REASONS))('Event reason %s is recorded by the code', (reason) => {
    expect(code).toContain(`'${reason}'`);
  });

  it('is all the alarms and dashboard name', () => {
    const named = [...monitoring.matchAll(/relayMetric(?:s|Total)\(\s*'([A-Za-z]+)'/g)].map((m) => m[1]);

    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((name) => !(name && name in METRICS))).toEqual([]);
  });

  it('is the metrics table of docs/runbook.md, name for name', () => {
    const table = runbook.slice(runbook.indexOf('## Metrics'));
    const listed = [...table.matchAll(/^\| `([A-Za-z]+)`/gm)].map((m) => m[1]);

    expect([...listed].sort()).toEqual(Object.keys(METRICS).sort());
  });

  it('names every Event reason in the docs', () => {
    for (const reason of Object.keys(EVENT_REASONS)) expect(docs).toContain(`\`${reason}\``);
  });
});
