import {
  DescribeArchiveCommand,
  DescribeReplayCommand,
  type EventBridgeClient,
  StartReplayCommand,
} from '@aws-sdk/client-eventbridge';
import { InvalidInput } from '../errors.js';

/** How an archive replay went (`--json` shape in lib/cli/README.md). */
export interface ArchiveReplayResult {
  archive: string;
  replay?: string;
  state: string;
  reason?: string;
  from: string;
  to: string;
  destination: string;
  eventCount?: number;
  lastReplayed?: string;
}

const DONE = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

/**
 * Starts an EventBridge replay of `archive` between `from` and `to` into its bus (or `bus`), limited to
 * `rules` when given (identity-relay's rotation rule), and follows
 * DescribeReplay until it ends, calling `progress` with the fraction of the time window replayed.
 * A dry run only describes the archive. The replayed events reach the rotation queue like live ones.
 */
export async function replayArchive(
  client: Pick<EventBridgeClient, 'send'>,
  options: {
    name: string;
    from: Date;
    to: Date;
    bus?: string;
    rules?: string[];
    dryRun: boolean;
    pollMs?: number;
  },
  progress: (fraction: number, state: string, lastReplayed?: Date) => void,
): Promise<ArchiveReplayResult> {
  if (options.from >= options.to) throw new InvalidInput('--from must be before --to');
  const archive = await client.send(new DescribeArchiveCommand({ ArchiveName: options.name }));
  const destination = options.bus ?? archive.EventSourceArn ?? '';
  const base: ArchiveReplayResult = {
    archive: options.name,
    state: 'PLANNED',
    from: options.from.toISOString(),
    to: options.to.toISOString(),
    destination,
    ...(archive.EventCount !== undefined ? { eventCount: archive.EventCount } : {}),
  };
  if (options.dryRun) return base;
  const replay = `identity-relay-${options.name}-${Date.now()}`.slice(0, 64);
  await client.send(
    new StartReplayCommand({
      ReplayName: replay,
      EventSourceArn: archive.ArchiveArn,
      EventStartTime: options.from,
      EventEndTime: options.to,
      // Without FilterArns every rule of the bus receives the replay, other teams' rules included.
      Destination: { Arn: destination, ...(options.rules ? { FilterArns: options.rules } : {}) },
    }),
  );
  const span = options.to.getTime() - options.from.getTime();
  for (;;) {
    const state = await client.send(new DescribeReplayCommand({ ReplayName: replay }));
    const last = state.EventLastReplayedTime;
    const fraction = last ? Math.min(1, Math.max(0, (last.getTime() - options.from.getTime()) / span)) : 0;
    const current = state.State ?? 'UNKNOWN';
    progress(current === 'COMPLETED' ? 1 : fraction, current, last);
    if (DONE.has(current))
      return {
        ...base,
        replay,
        state: current,
        ...(state.StateReason ? { reason: state.StateReason } : {}),
        ...(last ? { lastReplayed: last.toISOString() } : {}),
      };
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 2000));
  }
}

/** A progress reporter: an in-place bar on a TTY, otherwise a line at most every `everyMs`. */
export function progressReporter(
  stream: { isTTY?: boolean; write(text: string): unknown },
  everyMs = 10_000,
): (fraction: number, state: string, lastReplayed?: Date) => void {
  let lastLine = 0;
  return (fraction, state, lastReplayed) => {
    const percent = Math.round(fraction * 100);
    const at = lastReplayed ? `  last event ${lastReplayed.toISOString()}` : '';
    if (stream.isTTY) {
      const filled = Math.round(fraction * 30);
      stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(30 - filled)}] ${percent}% ${state}${at}\x1b[K`);
      if (DONE.has(state)) stream.write('\n');
      return;
    }
    const now = Date.now();
    if (DONE.has(state) || now - lastLine >= everyMs) {
      lastLine = now;
      stream.write(`replay ${state} ${percent}%${at}\n`);
    }
  };
}
