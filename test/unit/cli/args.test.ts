import { describe, expect, it } from 'vitest';
import { parseCommand, UsageError } from '../../../lib/cli/args.js';

describe('parseCommand', () => {
  it.each([
    [['status'], { name: 'status', scope: { kind: 'all' }, dryRun: false }],
    [['status', '--region', 'eu'], { name: 'status', scope: { kind: 'region', name: 'eu' } }],
    [
      ['plan', '--secret', 'kcm-system/aws'],
      { name: 'plan', dryRun: true, scope: { kind: 'secret', namespace: 'kcm-system', name: 'aws' } },
    ],
    [
      ['resync', '--credential', 'team/aws', '--dry-run'],
      { name: 'resync', dryRun: true, scope: { kind: 'credential', namespace: 'team', name: 'aws' } },
    ],
    [['replay', '-', '--json'], { name: 'replay', file: '-', json: true }],
    [
      ['replay', '--dlq', 'https://q', '--move', '--target', 'https://s'],
      { dlq: 'https://q', dlqAction: 'move', moveTo: 'https://s' },
    ],
    [['replay', '--dlq', 'https://q'], { dlqAction: 'list' }],
    [['--help'], { name: 'help' }],
    [[], { name: 'help' }],
  ])('reads %j', (argv, expected) => {
    expect(parseCommand(argv)).toMatchObject(expected);
  });

  it('reads an archive replay window', () => {
    const command = parseCommand([
      'replay',
      '--archive',
      'a',
      '--from',
      '2026-11-23T00:00:00Z',
      '--to',
      '2026-11-23T01:00:00Z',
    ]);
    expect(command.archive).toEqual({
      name: 'a',
      from: new Date('2026-11-23T00:00:00Z'),
      to: new Date('2026-11-23T01:00:00Z'),
    });
  });

  it.each([
    [['bogus'], /unknown command/],
    [['status', '--nope'], /Unknown option/],
    [['resync', '--secret', 'a/b', '--region', 'x'], /give one of/],
    [['resync', '--secret', 'nameonly'], /NAMESPACE\/NAME/],
    [['replay'], /exactly one of/],
    [['replay', 'f', '--dlq', 'q'], /exactly one of/],
    [['replay', '--dlq', 'q', '--rerun', '--move'], /exclude each other/],
    [['replay', '--archive', 'a', '--from', 'yesterday', '--to', '2026-01-01'], /ISO 8601/],
    [['status', 'extra'], /no positional/],
  ])('refuses %j with a one-line usage error', (argv, message) => {
    const error = (() => {
      try {
        parseCommand(argv);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });
});
