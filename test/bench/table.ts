// The bench's report: one row per benchmark of issue 7, the figure beside its goal.

export interface Row {
  id: number;
  name: string;
  /** The measured figures, one line. */
  figure: string;
  goal: string;
  /** Whether the goal is met; null when the row could not run. */
  met: boolean | null;
  details: Record<string, unknown>;
}

/** Prints rows as a fixed-width table, wrapping long figures. */
export function printTable(rows: Row[]): void {
  const width = Math.max(60, Math.min(process.stdout.columns ?? 120, 160));
  const nameWidth = Math.max(...rows.map((r) => r.name.length)) + 4;
  const goalWidth = Math.max(...rows.map((r) => r.goal.length), 4) + 2;
  const figureWidth = Math.max(30, width - nameWidth - goalWidth - 8);
  const line = '─'.repeat(Math.min(width, nameWidth + goalWidth + figureWidth + 8));
  console.log(line);
  console.log(`${'benchmark'.padEnd(nameWidth)}${'goal'.padEnd(goalWidth)}met   figures`);
  console.log(line);
  for (const row of rows) {
    const met = row.met === null ? 'n/a' : row.met ? 'yes' : 'NO';
    const wrapped = wrap(row.figure, figureWidth);
    console.log(
      `${`${row.id}. ${row.name}`.padEnd(nameWidth)}${row.goal.padEnd(goalWidth)}${met.padEnd(6)}${wrapped[0] ?? ''}`,
    );
    for (const rest of wrapped.slice(1)) console.log(`${' '.repeat(nameWidth + goalWidth + 6)}${rest}`);
  }
  console.log(line);
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(' ')) {
    if (current && current.length + word.length + 1 > width) {
      lines.push(current);
      current = word;
    } else current = current ? `${current} ${word}` : word;
  }
  if (current) lines.push(current);
  return lines;
}
