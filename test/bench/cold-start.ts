// Row 5: each function bundled exactly as the CDK construct bundles it (infra/bundling.ts), its size, and
// the time a fresh node process takes to import it, against a hello-world handler bundled the same way.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { buildOptions } from '../../infra/bundling.js';
import { median, round } from './instrument.js';
import type { Row } from './table.js';

const SIZE_GOAL_MB = 1.0;
const RATIO_GOAL = 3;

/** Builds one function exactly as the CDK construct bundles it (infra/bundling.ts); returns its bytes. */
export async function bundle(entry: string, outfile: string): Promise<number> {
  await build(buildOptions(entry, outfile));
  return statSync(outfile).size;
}

/**
 * Milliseconds a fresh `node` takes from start to a finished import of `file`: the process's own
 * clock (performance.now() counts from process start), so spawn overhead of this process is left out.
 */
function importMs(file: string): number {
  const script = `await import(${JSON.stringify(file)}); process.stdout.write(String(performance.now()));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, AWS_REGION: 'us-east-1', NODE_OPTIONS: '' },
    encoding: 'utf8',
  });
  return Number(out);
}

export async function coldStart(root: string, repeats: number): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'identity-relay-bench-'));
  try {
    const hello = join(dir, 'hello.ts');
    writeFileSync(hello, 'export const handler = async () => ({ statusCode: 200, body: "hello" });\n');
    await bundle(hello, join(dir, 'hello.mjs'));
    const functions = readdirSync(join(root, 'functions')).filter((name) => name !== 'shared');
    const sizes: Record<string, number> = {};
    for (const name of functions)
      sizes[name] = await bundle(join(root, 'functions', name, 'handler.ts'), join(dir, `${name}.mjs`));
    // Interleaved, so drift on a shared machine hits every bundle alike.
    const samples: Record<string, number[]> = Object.fromEntries(['hello', ...functions].map((n) => [n, []]));
    for (let i = 0; i < repeats; i++) {
      for (const name of ['hello', ...functions]) samples[name]?.push(importMs(join(dir, `${name}.mjs`)));
    }
    const helloMs = median(samples.hello ?? []);
    const perFunction = functions.map((name) => {
      const ms = median(samples[name] ?? []);
      return {
        name,
        sizeMb: round((sizes[name] ?? 0) / 2 ** 20, 2),
        importMs: round(ms),
        ratio: round(ms / helloMs, 2),
      };
    });
    const sizeMet = perFunction.every((f) => f.sizeMb <= SIZE_GOAL_MB);
    const timeMet = perFunction.every((f) => f.ratio <= RATIO_GOAL);
    return {
      id: 5,
      name: 'cold start',
      figure: `${perFunction.map((f) => `${f.name} ${f.sizeMb} MB ${f.importMs} ms (${f.ratio}×)`).join(', ')}; hello-world ${round(helloMs)} ms (node start + import)`,
      goal: `≤ ${SIZE_GOAL_MB} MB, ≤ ${RATIO_GOAL}× hello-world (stretch 2×)`,
      met: sizeMet && timeMet,
      details: { repeats, helloMs: round(helloMs), sizeMet, timeMet, functions: perFunction },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
