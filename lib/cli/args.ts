import { parseArgs } from 'node:util';
import { InvalidInput } from '../errors.js';
import { parseObjectName, type Scope } from '../use-cases/scope.js';

/** A command line that does not parse: exit code 2 and the usage line. */
export class UsageError extends InvalidInput {}

export const USAGE = `identity-relay — replay, preview and repair credential distribution (same code as the functions)

usage:
  identity-relay status  [SCOPE] [--json]                 versions, last sync and drift; exit 1 on drift or error
  identity-relay plan    [SCOPE] [--json]                 what resync would do (resync --dry-run)
  identity-relay resync  [SCOPE] [--dry-run] [--json]     converge now (the sweep, on demand)
  identity-relay replay  FILE|- [--dry-run] [--json]      EventBridge events, SQS events/records, audit EventLists
  identity-relay replay  --dlq QUEUE_URL [--rerun | --move [--target QUEUE_URL]] [--dry-run] [--json]
  identity-relay replay  --archive NAME --from TIME --to TIME [--rule RULE_ARN]... [--bus ARN] [--json]

SCOPE (default --all):  --secret NS/NAME | --credential NS/NAME | --region NAME | --all

options:
  --kubeconfig PATH       management cluster (default: $KUBECONFIG, then ~/.kube/config)
  --context NAME          kubeconfig context (default: current-context)
  --system-namespace NS   k0rdent system namespace (default: $SYSTEM_NAMESPACE or kcm-system)
  --watch-namespaces A,B  namespaces of bound Secrets (default: $WATCH_NAMESPACES or the system namespace)
  --dry-run               plan only: per cluster and object create/update/noop/delete/release, never values
  --json                  one JSON document on stdout (shapes: lib/cli/README.md)
  -v, --verbose           log lines of the use-cases on stderr
AWS: the SDK's variables (AWS_REGION, AWS_ENDPOINT_URL, AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).
exit codes: 0 ok, 1 failed or drift found, 2 usage.`;

/** The parsed command line. */
export interface Command {
  name: 'status' | 'plan' | 'resync' | 'replay' | 'help';
  scope: Scope;
  file?: string;
  dlq?: string;
  dlqAction?: 'list' | 'rerun' | 'move';
  moveTo?: string;
  archive?: { name: string; from: Date; to: Date; bus?: string; rules?: string[] };
  dryRun: boolean;
  json: boolean;
  verbose: boolean;
  kubeconfig?: string;
  context?: string;
  systemNamespace?: string;
  watchNamespaces?: string[];
}

const COMMANDS = ['status', 'plan', 'resync', 'replay', 'help'] as const;

/** Parses argv (without node and script); throws UsageError with a one-line reason. */
export function parseCommand(argv: string[]): Command {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n', 1)[0] ?? 'bad arguments');
  }
  const { values, positionals } = parsed;
  const [name = 'help', ...rest] = positionals;
  if (values.help || name === 'help') return base('help', values);
  if (!(COMMANDS as readonly string[]).includes(name))
    throw new UsageError(`unknown command "${name.slice(0, 40)}" (status, plan, resync, replay)`);
  const command = base(name as Command['name'], values);
  if (name === 'plan') command.dryRun = true;
  if (name !== 'replay') {
    if (rest.length > 0) throw new UsageError(`${name} takes no positional argument`);
    command.scope = scopeOf(values);
    return command;
  }
  const sources = [rest.length > 0, values.dlq !== undefined, values.archive !== undefined].filter(Boolean);
  if (sources.length !== 1)
    throw new UsageError('replay needs exactly one of FILE|-, --dlq QUEUE_URL, --archive NAME');
  if (rest.length > 1) throw new UsageError('replay takes one FILE (or - for stdin)');
  if (rest[0] !== undefined) command.file = rest[0];
  if (values.dlq !== undefined) {
    if (values.rerun && values.move) throw new UsageError('--rerun and --move exclude each other');
    command.dlq = values.dlq;
    command.dlqAction = values.rerun ? 'rerun' : values.move ? 'move' : 'list';
    if (values.target !== undefined) command.moveTo = values.target;
  }
  if (values.archive !== undefined) {
    if (!values.from || !values.to) throw new UsageError('--archive needs --from TIME and --to TIME');
    command.archive = {
      name: values.archive,
      from: time('--from', values.from),
      to: time('--to', values.to),
      ...(values.bus ? { bus: values.bus } : {}),
      ...(values.rule?.length ? { rules: values.rule } : {}),
    };
  }
  return command;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      secret: { type: 'string' },
      credential: { type: 'string' },
      region: { type: 'string' },
      all: { type: 'boolean' },
      dlq: { type: 'string' },
      rerun: { type: 'boolean' },
      move: { type: 'boolean' },
      to: { type: 'string' },
      target: { type: 'string' },
      archive: { type: 'string' },
      from: { type: 'string' },
      bus: { type: 'string' },
      rule: { type: 'string', multiple: true },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      'system-namespace': { type: 'string' },
      'watch-namespaces': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

type Values = ReturnType<typeof parse>['values'];

function base(name: Command['name'], values: Values): Command {
  return {
    name,
    scope: { kind: 'all' },
    dryRun: values['dry-run'] ?? false,
    json: values.json ?? false,
    verbose: values.verbose ?? false,
    ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
    ...(values.context ? { context: values.context } : {}),
    ...(values['system-namespace'] ? { systemNamespace: values['system-namespace'] } : {}),
    ...(values['watch-namespaces']
      ? {
          watchNamespaces: values['watch-namespaces']
            .split(',')
            .map((n) => n.trim())
            .filter(Boolean),
        }
      : {}),
  };
}

function scopeOf(values: Values): Scope {
  const given = [values.secret, values.credential, values.region, values.all || undefined].filter(
    (v) => v !== undefined,
  );
  if (given.length > 1) throw new UsageError('give one of --secret, --credential, --region, --all');
  try {
    if (values.secret) return { kind: 'secret', ...parseObjectName('--secret', values.secret) };
    if (values.credential)
      return { kind: 'credential', ...parseObjectName('--credential', values.credential) };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.region) return { kind: 'region', name: values.region };
  return { kind: 'all' };
}

function time(flag: string, text: string): Date {
  const date = new Date(text);
  if (Number.isNaN(date.getTime()))
    throw new UsageError(`${flag} expects an ISO 8601 time, got "${text.slice(0, 40)}"`);
  return date;
}
