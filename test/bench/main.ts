// `npm run bench`: eight benchmarks on a testbed of its own (etcd, mgmt and N regional
// kube-apiservers, moto). Prints a table with each goal beside its figures and writes bench/results.json.
// Figures and ratios come from one run on one machine; they are reports, not assertions.
// BENCH_REGIONS (default 4) sets how many regional apiservers the fan-out row scales to; BENCH_ROWS
// (e.g. `1,6`) runs only some rows.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestbed, type Testbed } from '../testbed/testbed.js';
import { auditIntake } from './audit.js';
import { burst } from './burst.js';
import { coldPropagation } from './cold-propagation.js';
import { coldStart } from './cold-start.js';
import { headOfLine } from './head-of-line.js';
import { round } from './instrument.js';
import { distanceFromFloor, economy, fanOutScaling } from './propagation.js';
import { Bench } from './setup.js';
import { type PictureData, resultsSvg } from './svg.js';
import { printTable, type Row } from './table.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const regionCount = Math.max(3, Number(process.env.BENCH_REGIONS ?? 4));
const regional = Array.from({ length: regionCount }, (_, i) => `region-${String.fromCharCode(97 + i)}`);
const LIMIT_MS = 10 * 60_000;

// Self-stopping: whatever hangs, the run ends (and the testbed's exit hook kills its processes).
const watchdog = setTimeout(() => {
  console.error(`bench: stopped after ${LIMIT_MS / 60_000} minutes`);
  process.exit(1);
}, LIMIT_MS);
watchdog.unref();

const started = Date.now();
const rows: Row[] = [];
const only = process.env.BENCH_ROWS?.split(',').map(Number);
const step = async (id: number, what: string, fn: () => Promise<Row>) => {
  if (only && !only.includes(id)) return;
  const t = Date.now();
  process.stderr.write(`bench: ${what}… `);
  const row = await fn();
  rows.push(row);
  process.stderr.write(`${round((Date.now() - t) / 1000)} s\n`);
};

await step(5, 'cold start', () => coldStart(root, 7));
await step(4, 'audit intake', () => auditIntake(200));

process.stderr.write(`bench: starting a testbed with mgmt and ${regional.length} regional apiservers… `);
let testbed: Testbed | undefined;
try {
  testbed = await startTestbed({ clusters: ['mgmt', ...regional] });
  process.stderr.write(`${testbed.info.startupSeconds.total} s\n`);
  const bench = new Bench(testbed.info);
  await bench.prepare();
  // The burst first: every later row adds Credentials, and each propagation reads all of them.
  await step(6, 'burst', () => burst(bench, regional[0] ?? 'region-a'));
  await step(1, 'fan-out scaling', () => fanOutScaling(bench, regional, 9));
  await step(2, 'distance from the floor', () => distanceFromFloor(bench, regional, 100));
  await step(3, 'no-op and economy', () => economy(bench, regional));
  await step(7, 'head-of-line', () => headOfLine(bench, regional[0] ?? 'region-a'));
  await step(8, 'cold propagation', () => coldPropagation(bench, root, regional, 5));
} finally {
  await testbed?.stop();
}

rows.sort((a, b) => a.id - b.id);
printTable(rows);
const results = {
  at: new Date().toISOString(),
  seconds: round((Date.now() - started) / 1000),
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGb: round(totalmem() / 2 ** 30),
    node: process.version,
  },
  commit: gitCommit(),
  regionalApiservers: regional.length,
  testbedStartupSeconds: testbed?.info.startupSeconds,
  rows,
};
mkdirSync(join(root, 'bench'), { recursive: true });
writeFileSync(join(root, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(join(root, 'bench', 'results.svg'), resultsSvg(pictureOf(rows)));
console.log(`bench: ${results.seconds} s; results in bench/results.json, the picture in bench/results.svg`);
clearTimeout(watchdog);

/** The picture's figures: row 1 (warm per R), row 8 (cold at R = 2), row 2 (the floor). */
function pictureOf(measured: Row[]): PictureData {
  const details = (id: number) => measured.find((r) => r.id === id)?.details;
  const byR = (details(1)?.byR ?? []) as Array<{ r: number; p50Ms: number }>;
  const coldMs = details(8)?.coldMs as number | undefined;
  const floorMs = details(2)?.bareSsaMedianMs as number | undefined;
  return {
    warm: byR.map((x) => ({ regions: x.r, ms: x.p50Ms })),
    cold: coldMs === undefined ? [] : [{ regions: 2, ms: coldMs }],
    ...(floorMs === undefined ? {} : { floorMs }),
  };
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}
