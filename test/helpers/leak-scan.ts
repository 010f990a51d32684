// The leak scan: every secret value a test created, in every form it could leak, looked for in everything
// identity-relay said during the test (log lines, Kubernetes Events, metrics, errors, CLI output).
//
// What is looked for, per registered value (and per string field of a JSON value, nested too):
// - the value itself, and each line of it (a PEM key or a clouds.yaml leaks line by line);
// - the base64 of each of those (Secret data, a kubeconfig's `*-data` fields);
// - the JSON-escaped form of each (a line with quotes inside a JSON log line).
// Anything shorter than MIN_SCANNED_LENGTH is skipped, as are lines that are only structure (PEM armour,
// a bare YAML key such as `clouds:`): they match ordinary words and messages, not secrets.

/** Shorter needles are not scanned: 6 characters rarely match by chance, fewer match words. */
export const MIN_SCANNED_LENGTH = 6;

/** Every secret value a test created, to prove none of them reaches a log line, Event, metric, error or output. */
export const createdSecretValues = new Set<string>();

/** Registers a secret value as one that must never be printed; returns it, for use inline. */
export function rememberSecret(value: string): string {
  createdSecretValues.add(value);
  return value;
}

/** One form of one registered value; `label` names it without showing it. */
export interface Needle {
  text: string;
  label: string;
}

const STRUCTURE = [/^-----(BEGIN|END) [A-Z0-9 ]+-----$/, /^[\w.-]+:$/, /^[{}[\],]+$/];

/** The forms of one value the scan looks for (see the top of this file). */
export function needlesOf(value: string): Needle[] {
  const parts: Array<{ text: string; label: string }> = [{ text: value, label: 'whole' }];
  for (const [path, field] of stringFields(value)) parts.push({ text: field, label: `field ${path}` });
  const plain: Needle[] = [];
  for (const part of parts) {
    plain.push(part);
    const lines = part.text.split(/\r?\n/).map((line) => line.trim());
    if (lines.length > 1)
      for (const [i, line] of lines.entries())
        plain.push({ text: line, label: `${part.label}, line ${i + 1}` });
  }
  const needles = new Map<string, Needle>();
  for (const { text, label } of plain) {
    if (text.length < MIN_SCANNED_LENGTH || STRUCTURE.some((re) => re.test(text))) continue;
    const forms: Array<[string, string]> = [
      [text, label],
      [Buffer.from(text).toString('base64'), `${label}, base64`],
      [JSON.stringify(text).slice(1, -1), `${label}, JSON-escaped`],
    ];
    for (const [form, formLabel] of forms)
      if (!needles.has(form)) needles.set(form, { text: form, label: formLabel });
  }
  return [...needles.values()];
}

/** String fields of a JSON value, nested, with their paths; none for plaintext. */
function stringFields(value: string): Array<[string, string]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return [];
  }
  const fields: Array<[string, string]> = [];
  const walk = (node: unknown, path: string) => {
    if (typeof node === 'string' && path !== '') fields.push([path, node]);
    else if (node !== null && typeof node === 'object')
      for (const [key, child] of Object.entries(node)) walk(child, path ? `${path}.${key}` : key);
  };
  walk(parsed, '');
  return fields;
}

/** What identity-relay said during a test, by kind; every entry is scanned. */
export interface Said {
  logs?: string[];
  /** Kubernetes Events as read back from the apiservers (whole objects: message, reason, annotations). */
  events?: unknown[];
  metrics?: unknown[];
  errors?: unknown[];
  /** CLI output (stdout and stderr). */
  output?: string[];
}

/**
 * Every registered value found in what was said, as `value N (form) in <kind> M` lines: the value itself
 * is never repeated, so a failing assertion prints no secret either. Empty when nothing leaked.
 */
export function scanForLeaks(said: Said, values: Iterable<string> = createdSecretValues): string[] {
  const texts: Array<{ where: string; text: string }> = [];
  const push = (kind: string, items: unknown[] | undefined) => {
    for (const [i, item] of (items ?? []).entries())
      texts.push({ where: `${kind} ${i + 1}`, text: textOf(item) });
  };
  push('log line', said.logs);
  push('Event', said.events);
  push('metric', said.metrics);
  push('error', said.errors);
  push('output line', said.output);
  const found: string[] = [];
  for (const [n, value] of [...values].entries()) {
    for (const needle of needlesOf(value)) {
      const hit = texts.find(({ text }) => text.includes(needle.text));
      if (hit) found.push(`value ${n + 1} (${needle.label}) in ${hit.where}`);
    }
  }
  return found;
}

/** Scans plain texts (log lines, errors, output): the form most suites already collect. */
export function leakedSecrets(texts: string[]): string[] {
  return scanForLeaks({ logs: texts });
}

/** A scanned item as text: strings as they are, an Error with its causes, anything else as JSON. */
function textOf(item: unknown): string {
  if (typeof item === 'string') return item;
  if (item instanceof Error) {
    const lines: string[] = [];
    for (let error: unknown = item; error instanceof Error; error = error.cause)
      lines.push(`${error.name}: ${error.message}\n${error.stack ?? ''}`);
    return lines.join('\n');
  }
  return JSON.stringify(item) ?? String(item);
}
