import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** A free TCP port on 127.0.0.1, found by binding port 0. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface Managed {
  name: string;
  child: ChildProcess;
  logFile: string;
}

const PID_FILE = 'pids.json';

/** Starts a process whose output goes to `<dir>/<name>.log`, recording its PID in `<dir>/pids.json`. */
export function startProcess(
  dir: string,
  name: string,
  command: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): Managed {
  const logFile = join(dir, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  child.on('error', (error) => log.write(`spawn error: ${error.message}\n`));
  recordPid(dir, name, child.pid, command);
  return { name, child, logFile };
}

/** Records a PID under `<dir>/pids.json` so the testbed stops it at the end (also one a test started). */
export function recordPid(dir: string, name: string, pid: number | undefined, command: string): void {
  if (pid === undefined) return;
  const file = join(dir, PID_FILE);
  const pids = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  pids[name] = { pid, command, owner: process.pid };
  writeFileSync(file, JSON.stringify(pids, null, 2));
}

/** Stops a process: SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
export function stopProcess(managed: Managed, graceMs = 5000): Promise<void> {
  const { child } = managed;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Kills every process recorded in `<dir>/pids.json` that still runs its recorded command. */
export function killRecorded(dir: string): void {
  const file = join(dir, PID_FILE);
  if (!existsSync(file)) return;
  const entries = JSON.parse(readFileSync(file, 'utf8')) as Record<string, { pid: number; command: string }>;
  for (const entry of Object.values(entries)) {
    if (isAlive(entry.pid) && commandOf(entry.pid) === entry.command) process.kill(entry.pid, 'SIGKILL');
  }
}

/**
 * Kills the processes of earlier testbed runs under `root` whose owner is gone (a run killed with
 * SIGKILL cannot clean up after itself), checking each PID still runs the recorded command.
 */
export function reapOrphans(root: string): void {
  if (!existsSync(root)) return;
  for (const run of readdirSync(root)) {
    const file = join(root, run, PID_FILE);
    if (!existsSync(file)) continue;
    let entries: Record<string, { pid: number; command: string; owner: number }>;
    try {
      entries = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      continue;
    }
    const owners = Object.values(entries).map((entry) => entry.owner);
    if (owners.some((owner) => isAlive(owner))) continue;
    for (const entry of Object.values(entries)) {
      if (isAlive(entry.pid) && commandOf(entry.pid) === entry.command) process.kill(entry.pid, 'SIGKILL');
    }
    rmSync(join(root, run), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function commandOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
  } catch {
    return undefined;
  }
}

/** Polls `probe` until it returns true or `timeoutMs` passes; `what` names it in the error. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`testbed: ${what} not ready after ${Math.round(timeoutMs / 1000)}s`);
}
