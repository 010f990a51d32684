import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { buildOptions } from './infra/bundling.js';
import { writeFileSync, statSync } from 'node:fs';
const variants: Record<string, (o: any) => any> = {
  base: (o) => o,
  nokeep: (o) => ({ ...o, keepNames: false }),
};
writeFileSync('/tmp/cold/hello.ts', 'export const handler = async () => ({ statusCode: 200 });\n');
const files: string[] = [];
for (const [name, f] of Object.entries(variants)) {
  for (const fn of ['rotation', 'audit-webhook']) {
    const out = `/tmp/cold/${fn}-${name}.mjs`;
    await build(f(buildOptions(`functions/${fn}/handler.ts`, out)));
    files.push(out);
  }
}
await build(buildOptions('/tmp/cold/hello.ts', '/tmp/cold/hello.mjs'));
files.unshift('/tmp/cold/hello.mjs');
const t: Record<string, number[]> = {};
for (let i = 0; i < 9; i++) for (const file of files) {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(file)}); process.stdout.write(String(performance.now()))`], { env: { ...process.env, AWS_REGION: 'us-east-1', NODE_OPTIONS: '' }, encoding: 'utf8' });
  (t[file] ??= []).push(Number(out));
}
for (const [file, xs] of Object.entries(t)) { xs.sort((a, b) => a - b); console.log(file, (statSync(file).size / 1024).toFixed(0), 'KB', xs[4].toFixed(1)); }
