import { describe, expect, it } from 'vitest';
import {
  FORMAT_NAMES,
  type FormatName,
  isFormatName,
  parseKeysAnnotation,
  renderSecretData,
} from '../../../lib/domain/formats.js';
import { InvalidCredentialFormat, InvalidInput } from '../../../lib/errors.js';

const PRIVATE_KEY =
  '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\n';
const CA_CERT =
  '-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBa\n-----END CERTIFICATE-----\n';
const CLOUDS_YAML =
  'clouds:\n  openstack:\n    auth:\n      auth_url: https://keystone.example.com:5000/v3\n      password: Op3nSt4ckPassw0rd\n';

/** One valid secret value per format; each case below changes only what it names. */
const BASELINE: Record<FormatName, Record<string, unknown>> = {
  'aws-static': {
    AccessKeyID: 'AKIAIOSFODNN7EXAMPLE',
    SecretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  },
  'azure-sp': { clientSecret: 'Qx8Q~azureClientSecretValue.1234' },
  vsphere: { username: 'capv@vsphere.local', password: 'vSph3re-Passw0rd!' },
  openstack: { 'clouds.yaml': CLOUDS_YAML },
  gcp: {
    type: 'service_account',
    project_id: 'relay-project-4711',
    private_key_id: '3f1c0e5a9b7d2c4e6f8a0b1c2d3e4f5a6b7c8d9e',
    private_key: PRIVATE_KEY,
    client_email: 'relay@relay-project-4711.iam.gserviceaccount.com',
  },
  'giantswarm-aws': {
    'aws.admin.arn': 'arn:aws:iam::123456789012:role/GiantSwarmAdmin',
    'aws.awsoperator.arn': 'arn:aws:iam::123456789012:role/path/GiantSwarmAWSOperator',
  },
  'giantswarm-azure': {
    'azure.azureoperator.clientid': '8c2f6a4e-1b3d-4f5a-9c7e-0d2b4f6a8c1e',
    'azure.azureoperator.clientsecret': 'gsAzureOperatorSecret~0123456789',
    'azure.azureoperator.subscriptionid': '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
    'azure.azureoperator.tenantid': 'f0e1d2c3-b4a5-4968-8776-655443322110',
  },
  raw: { token: 'rawTokenValue-0123456789', endpoint: 'https://api.example.com' },
};

/** The baseline value as JSON with some fields changed; `undefined` removes a field. */
function value(format: FormatName, changes: Record<string, unknown> = {}): string {
  const merged = Object.entries({ ...BASELINE[format], ...changes }).filter(
    ([, field]) => field !== undefined,
  );
  return JSON.stringify(Object.fromEntries(merged));
}

/** Every string in a secret value, and the value itself: none may appear in an error. */
function secretParts(secretString: string): string[] {
  const parts = [secretString];
  const walk = (node: unknown): void => {
    if (typeof node === 'string') parts.push(node);
    else if (typeof node === 'object' && node !== null) Object.values(node).forEach(walk);
  };
  try {
    walk(JSON.parse(secretString));
  } catch {
    // plaintext: the whole value is the only part
  }
  return parts.filter((part) => part.length >= 6);
}

/** Asserts a one-line error whose message and issues contain no part of the secret value. */
function expectNoSecretIn(error: InvalidCredentialFormat, secretString: string): void {
  expect(error.message).not.toContain('\n');
  for (const part of secretParts(secretString)) {
    expect(error.message).not.toContain(part);
    for (const issue of error.issues) expect(issue).not.toContain(part);
  }
}

function captureError(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

const ROLE = 'expected an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>)';
const AWS_KEY = 'AKIAIOSFODNN7EXAMPLE';

describe('renderSecretData', () => {
  it.each<[FormatName, string, Record<string, unknown>]>([
    ['aws-static', 'its baseline', {}],
    ['aws-static', 'a session token', { SessionToken: 'FwoGZXIvYXdzEBYaDTokenValue' }],
    ['azure-sp', 'its baseline', {}],
    ['vsphere', 'its baseline', {}],
    ['openstack', 'its baseline', {}],
    ['openstack', 'a CA certificate', { cacert: CA_CERT }],
    ['giantswarm-aws', 'its baseline', {}],
    [
      'giantswarm-aws',
      'a GovCloud role ARN',
      { 'aws.admin.arn': 'arn:aws-us-gov:iam::123456789012:role/Admin' },
    ],
    ['giantswarm-azure', 'its baseline', {}],
    ['raw', 'its baseline', {}],
  ])('renders %s with %s field for field', (format, _case, changes) => {
    // Prepare
    const secretString = value(format, changes);

    // Act
    const data = renderSecretData(format, secretString);

    // Assess
    expect(data).toEqual(JSON.parse(secretString));
  });

  it.each<[string, FormatName, string, Record<string, string> | undefined, Record<string, string>]>([
    [
      'aws-static in the AWS CLI spelling',
      'aws-static',
      JSON.stringify({ aws_access_key_id: AWS_KEY, aws_secret_access_key: 'cliSecretAccessKey0123' }),
      undefined,
      { AccessKeyID: AWS_KEY, SecretAccessKey: 'cliSecretAccessKey0123' },
    ],
    [
      'aws-static through a keys annotation',
      'aws-static',
      JSON.stringify({ id: AWS_KEY, secret: 'annotatedSecretValue0123' }),
      { AccessKeyID: 'id', SecretAccessKey: 'secret' },
      { AccessKeyID: AWS_KEY, SecretAccessKey: 'annotatedSecretValue0123' },
    ],
    [
      'aws-static without fields outside its key map',
      'aws-static',
      value('aws-static', { region: 'us-west-2' }),
      undefined,
      { AccessKeyID: AWS_KEY, SecretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
    ],
    [
      'azure-sp from plaintext',
      'azure-sp',
      'plainAzureSecret~123',
      undefined,
      { clientSecret: 'plainAzureSecret~123' },
    ],
    [
      'openstack from a plaintext clouds.yaml',
      'openstack',
      CLOUDS_YAML,
      undefined,
      { 'clouds.yaml': CLOUDS_YAML },
    ],
    ['gcp as the whole value', 'gcp', value('gcp'), undefined, { credentials: value('gcp') }],
    [
      'raw without its non-string fields',
      'raw',
      value('raw', { port: 443 }),
      undefined,
      BASELINE.raw as Record<string, string>,
    ],
    [
      'raw from plaintext with one key',
      'raw',
      'opaque-plaintext-value',
      { value: '.' },
      { value: 'opaque-plaintext-value' },
    ],
  ])('renders %s', (_case, format, secretString, keys, expected) => {
    // Act
    const data = renderSecretData(format, secretString, keys);

    // Assess
    expect(data).toEqual(expected);
  });

  it.each<[FormatName, string, string, string]>([
    [
      'aws-static',
      'without an access key id',
      value('aws-static', { AccessKeyID: undefined }),
      'data key AccessKeyID (JSON field "AccessKeyID" or "aws_access_key_id"): required',
    ],
    [
      'aws-static',
      'with a lowercase access key id',
      value('aws-static', { AccessKeyID: 'akiaiosfodnn7example' }),
      'data key AccessKeyID (JSON field "AccessKeyID" or "aws_access_key_id"): expected an access key id (16+ capitals or digits)',
    ],
    [
      'aws-static',
      'with a trailing newline in the secret key',
      value('aws-static', { SecretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n' }),
      'data key SecretAccessKey (JSON field "SecretAccessKey" or "aws_secret_access_key"): expected a non-empty string without whitespace',
    ],
    [
      'aws-static',
      'with both spellings of one key',
      value('aws-static', { aws_access_key_id: 'AKIAI44QH8DHBEXAMPLE' }),
      'data key AccessKeyID: expected one of JSON field "AccessKeyID" or "aws_access_key_id", found both',
    ],
    [
      'aws-static',
      'with a numeric session token',
      value('aws-static', { SessionToken: 12345678 }),
      'data key SessionToken (JSON field "SessionToken"): expected a string',
    ],
    [
      'aws-static',
      'given plaintext',
      'justOnePlaintextSecret',
      'value: expected a JSON object with the fields of the key map',
    ],
    [
      'azure-sp',
      'with an empty client secret',
      value('azure-sp', { clientSecret: '' }),
      'data key clientSecret (JSON field "clientSecret"): expected a non-empty string without whitespace',
    ],
    [
      'vsphere',
      'without a password',
      value('vsphere', { password: undefined }),
      'data key password (JSON field "password"): required',
    ],
    [
      'openstack',
      'with YAML that has no clouds key',
      'auth:\n  password: Op3nSt4ckPassw0rd\n',
      'data key clouds.yaml (the whole value): expected a clouds.yaml with a top-level "clouds:" key',
    ],
    [
      'openstack',
      'with a CA certificate that is not PEM',
      value('openstack', { cacert: 'not-a-certificate-at-all' }),
      'data key cacert (JSON field "cacert"): expected a PEM certificate',
    ],
    [
      'gcp',
      'with a user credential instead of a service account',
      value('gcp', { type: 'authorized_user' }),
      'data key credentials (the whole value), field type: expected "service_account"',
    ],
    [
      'gcp',
      'with an invalid client email',
      value('gcp', { client_email: 'relay-at-relay-project' }),
      'data key credentials (the whole value), field client_email: expected an email address',
    ],
    [
      'gcp',
      'given plaintext',
      'gcpPlaintextNotAKey',
      'data key credentials (the whole value): expected a service-account JSON key',
    ],
    [
      'giantswarm-aws',
      'with a user ARN instead of a role ARN',
      value('giantswarm-aws', { 'aws.admin.arn': 'arn:aws:iam::123456789012:user/GiantSwarmAdmin' }),
      `data key aws.admin.arn (JSON field "aws.admin.arn"): ${ROLE}`,
    ],
    [
      'giantswarm-aws',
      'with an 11-digit account',
      value('giantswarm-aws', { 'aws.awsoperator.arn': 'arn:aws:iam::12345678901:role/Operator' }),
      `data key aws.awsoperator.arn (JSON field "aws.awsoperator.arn"): ${ROLE}`,
    ],
    [
      'giantswarm-azure',
      'with a tenant id that is not a GUID',
      value('giantswarm-azure', { 'azure.azureoperator.tenantid': 'contoso.onmicrosoft.com' }),
      'data key azure.azureoperator.tenantid (JSON field "azure.azureoperator.tenantid"): expected a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)',
    ],
    [
      'raw',
      'given plaintext without a keys annotation',
      'opaque-plaintext-value',
      'value: expected a JSON object, or a keys annotation like {"value": "."}',
    ],
    [
      'raw',
      'with a field name that is not a Secret data key',
      value('raw', { 'has space': 'anotherRawSecretValue' }),
      'value: expected every string field name to be a Secret data key (letters, digits, "-", "_", ".")',
    ],
    [
      'raw',
      'without any string field',
      JSON.stringify({ port: 443 }),
      'data: expected at least one string field',
    ],
  ])('rejects %s %s without revealing the value', (format, _case, secretString, issue) => {
    // Act
    const error = captureError(() => renderSecretData(format, secretString));

    // Assess
    expect(error).toBeInstanceOf(InvalidCredentialFormat);
    expect((error as InvalidCredentialFormat).issues).toEqual([issue]);
    expectNoSecretIn(error as InvalidCredentialFormat, secretString);
  });

  it.each<[string, FormatName, string, Record<string, string>, string]>([
    [
      'a field the value lacks',
      'vsphere',
      value('vsphere'),
      { username: 'username', password: 'pass' },
      'data key password (JSON field "pass"): required',
    ],
    [
      'a field of a plaintext value',
      'azure-sp',
      'plainAzureSecret~123',
      { clientSecret: 'clientSecret' },
      'value: expected a JSON object with the fields of the key map',
    ],
  ])(
    'rejects a keys annotation naming %s without revealing the value',
    (_case, format, secretString, keys, issue) => {
      // Act
      const error = captureError(() => renderSecretData(format, secretString, keys));

      // Assess
      expect(error).toBeInstanceOf(InvalidCredentialFormat);
      expect((error as InvalidCredentialFormat).issues).toEqual([issue]);
      expectNoSecretIn(error as InvalidCredentialFormat, secretString);
    },
  );

  it('reports every failing field of one value at once', () => {
    // Prepare
    const secretString = value('vsphere', { username: '', password: undefined });

    // Act
    const error = captureError(() => renderSecretData('vsphere', secretString));

    // Assess
    expect((error as InvalidCredentialFormat).issues).toEqual([
      'data key username (JSON field "username"): expected a non-empty string',
      'data key password (JSON field "password"): required',
    ]);
    expectNoSecretIn(error as InvalidCredentialFormat, secretString);
  });
});

describe('parseKeysAnnotation', () => {
  it('reads a map of data keys to JSON fields and the whole value', () => {
    // Act
    const keys = parseKeysAnnotation('{"AccessKeyID": "id", "clouds.yaml": "."}');

    // Assess
    expect(keys).toEqual({ AccessKeyID: 'id', 'clouds.yaml': '.' });
  });

  // The annotation holds field names, not secret values; the messages still never quote its values.
  it.each([
    [
      'text that is not JSON',
      '{"AccessKeyID": ',
      'keys annotation: expected a JSON object (Secret data key → JSON field or ".")',
    ],
    [
      'a JSON array',
      '["fieldName"]',
      'keys annotation: (root): Invalid input: expected record, received array',
    ],
    ['an empty object', '{}', 'keys annotation: (root): expected at least one entry'],
    [
      'a field name with a line break',
      '{"clientSecret": "field\\nName"}',
      'keys annotation: clientSecret: expected a JSON field name or "." (no control characters)',
    ],
    [
      'an empty field name',
      '{"clientSecret": ""}',
      'keys annotation: clientSecret: expected a JSON field name or "." (no control characters)',
    ],
    [
      'a data key Kubernetes would refuse',
      '{"client secret": "fieldName"}',
      'keys annotation: client secret: expected a Secret data key (letters, digits, "-", "_", ".")',
    ],
  ])('rejects %s with one line', (_case, text, message) => {
    // Act
    const error = captureError(() => parseKeysAnnotation(text));

    // Assess
    expect(error).toBeInstanceOf(InvalidInput);
    expect((error as InvalidInput).message).toBe(message);
    expect((error as InvalidInput).message).not.toContain('fieldName');
  });
});

describe('isFormatName', () => {
  it('knows every format name and nothing else', () => {
    // Act
    const known = [...FORMAT_NAMES, 'aws', 'AWS-STATIC', ''].map(isFormatName);

    // Assess
    expect(known).toEqual([...FORMAT_NAMES.map(() => true), false, false, false]);
  });
});
