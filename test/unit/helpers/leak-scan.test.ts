import { describe, expect, it } from 'vitest';
import { MIN_SCANNED_LENGTH, needlesOf, scanForLeaks } from '../../helpers/leak-scan.js';

const PEM = [
  '-----BEGIN PRIVATE KEY-----',
  'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj',
  'MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu',
  '-----END PRIVATE KEY-----',
].join('\n');
const CLOUDS = ['clouds:', '  openstack:', '    auth:', '      password: s3cr3t-Pa55word', ''].join('\n');
const TOKEN = 'tok-4f1c9a2e-77b0';
const b64 = (text: string) => Buffer.from(text).toString('base64');

/** An Event as the apiserver returns it, with `message` planted. */
const event = (message: string) => ({
  metadata: { name: 'capa.17a', namespace: 'kcm-system' },
  involvedObject: { kind: 'Secret', name: 'capa', namespace: 'kcm-system' },
  reason: 'CredentialRotated',
  message,
  type: 'Normal',
});

describe('scanForLeaks', () => {
  const values = [TOKEN, PEM, CLOUDS, JSON.stringify({ auth: { clientSecret: 'nested-Cl1ent' } })];

  it('finds nothing in what identity-relay normally says', () => {
    // Act
    const found = scanForLeaks(
      {
        logs: ['{"level":"info","message":"binding applied","keys":["clouds.yaml","cacert"]}'],
        events: [event('applied version v2 (keys clouds.yaml)')],
        metrics: [{ name: 'Writes', value: 3, dimensions: { Region: 'region-a' } }],
        errors: [
          new Error('value does not match format openstack: expected a clouds.yaml with a "clouds:" key'),
        ],
        output: ['-----BEGIN PRIVATE KEY----- is not printed by the CLI, but armour alone is no secret'],
      },
      values,
    );

    // Assess
    expect(found).toEqual([]);
  });

  it.each([
    ['a log line', { logs: [`{"level":"warn","message":"apply failed","detail":"${TOKEN}"}`] }, 'log line 1'],
    ['an Event message', { events: [event(`rejected ${TOKEN}`)] }, 'Event 1'],
    [
      'a metric dimension',
      { metrics: [{ name: 'Writes', value: 1, dimensions: { Region: TOKEN } }] },
      'metric 1',
    ],
    ['an error message', { errors: [new Error('x', { cause: new Error(`inner ${TOKEN}`) })] }, 'error 1'],
    ['CLI output', { output: ['ok', `secret ${b64(TOKEN)}`] }, 'output line 2'],
  ])('fails when a value is planted in %s', (_, said, where) => {
    // Act
    const found = scanForLeaks(said, values);

    // Assess
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((line) => line.startsWith('value 1 ') && line.endsWith(where))).toBe(true);
  });

  it.each([
    ['one line of a PEM key', `key: ${PEM.split('\n')[2]}`, 'whole, line 3'],
    ['the base64 of one PEM line', `data=${b64(PEM.split('\n')[1] ?? '')}`, 'whole, line 2, base64'],
    ['the whole PEM key JSON-escaped in a log line', JSON.stringify({ value: PEM }), 'whole, JSON-escaped'],
    ['one line of a clouds.yaml', 'password: s3cr3t-Pa55word', 'whole, line 4'],
    ['the base64 of a whole value', `kubeconfig-data: ${b64(CLOUDS)}`, 'whole, base64'],
    ['a nested JSON field', 'secret=nested-Cl1ent', 'field auth.clientSecret'],
  ])('fails when %s is planted', (_, line, form) => {
    // Act
    const found = scanForLeaks({ logs: [line] }, values);

    // Assess
    expect(found.some((f) => f.includes(`(${form})`))).toBe(true);
  });

  it('names the value and where it was found, never the value itself', () => {
    // Act
    const found = scanForLeaks({ logs: ['fine', TOKEN] }, values);

    // Assess
    expect(found).toEqual(['value 1 (whole) in log line 2']);
  });
});

describe('needlesOf', () => {
  it(`scans values of ${MIN_SCANNED_LENGTH} characters and more, not shorter ones`, () => {
    expect(needlesOf('abcdef').map((n) => n.text)).toEqual(['abcdef', b64('abcdef')]);
    expect(needlesOf('abcde')).toEqual([]);
  });

  it('skips lines that are only structure: PEM armour, a bare YAML key', () => {
    const texts = needlesOf(`${PEM}\n${CLOUDS}`).map((n) => n.text);

    expect(texts).not.toContain('-----BEGIN PRIVATE KEY-----');
    expect(texts).not.toContain('clouds:');
    expect(texts).toContain('password: s3cr3t-Pa55word');
  });
});
