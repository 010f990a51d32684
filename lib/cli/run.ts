import { readFileSync } from 'node:fs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { readEnvironment } from '../adapters/relay-environment.js';
import { describeError } from '../errors.js';
import type { RegionResult } from '../use-cases/distribute.js';
import { type ResyncResult, resync } from '../use-cases/resync.js';
import type { SecretOutcome } from '../use-cases/rotate.js';
import { status } from '../use-cases/status.js';
import { progressReporter, replayArchive } from './archive.js';
import { type Command, parseCommand, USAGE, UsageError } from './args.js';
import { type CliDeps, cliDeps } from './deps.js';
import { drainDlq } from './dlq.js';
import { formatOutcomes, formatResync, formatStatus, hintFor, summary, writes } from './format.js';
import { classify, parseReplayText, type ReplayResult, replay } from './replay.js';
import { sandboxDeps } from './sandbox.js';

/** Where the CLI reads and writes; a test or another face can pass its own. */
export interface CliIo {
  stdout: { isTTY?: boolean; write(text: string): unknown };
  stderr: { isTTY?: boolean; write(text: string): unknown };
  readStdin(): string;
}

/** Runs one command line and returns the exit code: 0 ok, 1 failed or drift, 2 usage. */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  // Every secret value read in this process: masked in whatever is printed, as a last line of defence.
  const seen = new Set<string>();
  const print = (stream: CliIo['stdout']) => (text: string) => stream.write(`${mask(text, seen)}\n`);
  const out = print(io.stdout);
  const err = print(io.stderr);
  let command: Command | undefined;
  try {
    command = parseCommand(argv);
    if (command.name === 'help') {
      out(USAGE);
      return 0;
    }
    const active = command;
    let built: CliDeps | undefined;
    const deps = () => {
      if (!built) {
        const real = cliDeps(active, env, { stderr: err, seen });
        // A dry run is the real run against clusters that keep writes in memory (lib/cli/sandbox.ts).
        built = active.dryRun ? sandboxDeps(real) : real;
      }
      return built;
    };
    return await dispatch(active, deps, env, io, out);
  } catch (error) {
    const line = describeError(error);
    if (command?.json) out(JSON.stringify({ ok: false, error: line, hint: hintFor(line) }));
    err(`error: ${line}`);
    err(`hint: ${hintFor(line)}`);
    return error instanceof UsageError ? 2 : 1;
  }
}

async function dispatch(
  command: Command,
  deps: () => CliDeps,
  env: NodeJS.ProcessEnv,
  io: CliIo,
  out: (text: string) => void,
): Promise<number> {
  const emit = (json: unknown, lines: () => string[]) =>
    command.json ? out(JSON.stringify(json, null, 2)) : out(lines().join('\n'));
  if (command.name === 'status') {
    const report = await status(deps(), command.scope);
    emit(report, () => formatStatus(report));
    return report.ok ? 0 : 1;
  }
  if (command.name === 'plan' || command.name === 'resync') {
    const result = { ...(await resync(deps(), command.scope)), dryRun: command.dryRun };
    emit(resyncJson(result), () => formatResync(result));
    return result.failed.length > 0 ? 1 : 0;
  }
  if (command.dlq) {
    const result = await drainDlq(new SQSClient({}), deps, {
      queue: command.dlq,
      action: command.dlqAction ?? 'list',
      ...(command.moveTo ? { target: command.moveTo } : {}),
      dryRun: command.dryRun,
    });
    const failed = result.messages.filter((m) => m.outcome === 'rerun-failed' || m.outcome === 'move-failed');
    emit({ ok: failed.length === 0, ...result }, () => [
      `${result.messages.length} message(s) in ${result.queue}${result.target ? ` → ${result.target}` : ''}`,
      ...result.messages.flatMap((m) => [
        `  ${m.outcome.padEnd(13)} ${m.messageId}  ${m.kind} ${m.subject ?? '?'}  sent ${m.sentAt ?? '?'}  received ${m.receiveCount ?? '?'}x${m.groupId ? `  group ${m.groupId}` : ''}`,
        ...Object.entries(m.attributes).map(([k, v]) => `      attribute ${k}=${v}`),
        ...(m.error ? [`      ${m.error}`] : []),
      ]),
      'why they failed: SQS keeps no reason; search the function log for the message id (Logs Insights: filter @message like "<id>")',
    ]);
    return failed.length > 0 ? 1 : 0;
  }
  if (command.archive) {
    const result = await replayArchive(
      new EventBridgeClient({}),
      {
        ...command.archive,
        dryRun: command.dryRun,
        pollMs: readEnvironment(env).IDENTITY_RELAY_POLL_MS ?? 2000,
      },
      progressReporter(io.stderr),
    );
    emit({ ok: ['COMPLETED', 'PLANNED'].includes(result.state), ...result }, () => [
      `archive ${result.archive} → ${result.destination}: ${result.from} .. ${result.to}`,
      `replay ${result.replay ?? '(dry run: not started)'} ${result.state}${result.reason ? ` (${result.reason})` : ''}` +
        (result.eventCount !== undefined ? `, archive holds ${result.eventCount} event(s)` : ''),
    ]);
    return ['COMPLETED', 'PLANNED'].includes(result.state) ? 0 : 1;
  }
  const text = command.file === '-' ? io.readStdin() : readFileSync(command.file ?? '', 'utf8');
  const input = classify(parseReplayText(text), env);
  const result = await replay(deps(), input);
  emit(replayJson(result, command.dryRun), () => replayLines(result, command.dryRun));
  return result.failed.length > 0 ? 1 : 0;
}

const regionJson = (r: RegionResult) => ({
  region: r.region,
  ...(r.error ? { error: r.error } : {}),
  actions: r.actions,
});

function sourceJson(o: SecretOutcome, before: ResyncResult['before'] = {}) {
  return {
    secretId: o.secretId,
    ...(o.versionId ? { versionId: o.versionId } : {}),
    ...(o.error ? { error: o.error } : {}),
    bindings: o.bindings.map((b) => ({
      ...b,
      ...(before[b.secret]?.version ? { previousVersion: before[b.secret]?.version } : {}),
      ...(before[b.secret]?.hash ? { previousHash: before[b.secret]?.hash } : {}),
    })),
    regions: (o.distribution?.regions ?? []).map(regionJson),
  };
}

function resyncJson(result: ResyncResult) {
  return {
    ok: result.failed.length === 0,
    dryRun: result.dryRun,
    writes: writes(result),
    failed: result.failed,
    sources: result.rotations.map((o) => sourceJson(o, result.before)),
    regions: result.distribution.regions.map(regionJson),
    problems: result.distribution.problems,
  };
}

function replayJson(result: ReplayResult, dryRun: boolean) {
  const jobRegions = result.jobs.flatMap((j) => j.result?.regions ?? []);
  return {
    ok: result.failed.length === 0,
    dryRun,
    writes: writes({ rotations: result.rotations, distribution: { regions: jobRegions, problems: [] } }),
    failed: result.failed,
    ignored: result.ignored,
    input: result.input,
    sources: result.rotations.map((o) => sourceJson(o)),
    jobs: result.jobs.map((j) => ({
      messageId: j.messageId,
      object: j.object,
      change: j.change,
      ...(j.error ? { error: j.error } : {}),
      regions: (j.result?.regions ?? []).map(regionJson),
    })),
  };
}

function replayLines(result: ReplayResult, dryRun: boolean): string[] {
  const { audit } = result.input;
  const lines = formatOutcomes(result.rotations);
  if (audit.received > 0)
    lines.push(
      `audit events: ${audit.received} received, ${audit.kept} kept, ${audit.dropped} dropped, ${audit.quarantined} unreadable`,
    );
  for (const job of result.jobs) {
    lines.push(
      `job ${job.messageId}: ${job.change} ${job.object}${job.result ? '' : ' (same object as above)'}`,
    );
    for (const region of job.result?.regions ?? [])
      for (const a of region.actions)
        lines.push(
          `  ${region.region.padEnd(16)} ${a.op.padEnd(14)} ${a.object}${a.hash ? `  ${a.hash}` : ''}`,
        );
  }
  for (const ignored of result.ignored) lines.push(`ignored: ${ignored}`);
  const jobRegions = result.jobs.flatMap((j) => j.result?.regions ?? []);
  const count = writes({ rotations: result.rotations, distribution: { regions: jobRegions, problems: [] } });
  lines.push(...summary(dryRun, count, result.failed));
  return lines;
}

/** Masks every text that equals or contains a value read in this process, in plain and base64 form. */
function mask(text: string, seen: ReadonlySet<string>): string {
  let masked = text;
  for (const value of seen) {
    if (value.length < 4) continue;
    for (const form of [value, Buffer.from(value).toString('base64')])
      if (masked.includes(form)) masked = masked.split(form).join('[redacted]');
  }
  return masked;
}
