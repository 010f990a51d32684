/**
 * Credential formats: how a Secrets Manager secret value becomes the string data of an identity Secret,
 * and what that data must look like before anything is written.
 *
 * A value is decoded once: a JSON object (its top-level fields are addressable) or plaintext (only the
 * whole value, `.`, is). A key map (the `identity-relay.dev/keys` annotation, else the format's default)
 * says which field fills which Secret data key; the format's schema then checks the resulting data.
 *
 * Accepted spellings without a keys annotation:
 * - `aws-static`: `AccessKeyID` / `SecretAccessKey` / `SessionToken` (CAPA's keys), or the AWS CLI
 *   spelling `aws_access_key_id` / `aws_secret_access_key` / `aws_session_token`. Both spellings of one
 *   key in the same value is an error (set the keys annotation to choose).
 * - `azure-sp`: JSON `{"clientSecret": …}` or a plaintext value (the client secret itself).
 * - `openstack`: JSON `{"clouds.yaml": …, "cacert"?: …}` or a plaintext clouds.yaml.
 * - `gcp`: the whole value is the service-account JSON key, stored under `credentials`.
 * - `raw`: every top-level string field of a JSON object; a plaintext value needs a keys annotation.
 *
 * Issues name data keys, JSON fields taken from the key map, and what was expected; never any part of
 * the value (not even the value's own field names, which only `raw` would otherwise reveal).
 */
import * as z from 'zod';
import { InvalidCredentialFormat, InvalidInput } from '../errors.js';

export const FORMAT_NAMES = [
  'aws-static',
  'azure-sp',
  'vsphere',
  'openstack',
  'gcp',
  'giantswarm-aws',
  'giantswarm-azure',
  'raw',
] as const;

export type FormatName = (typeof FORMAT_NAMES)[number];

/** The key-map field that stands for the whole plaintext value. */
export const WHOLE_VALUE = '.';

/** What one format accepts. */
export interface CredentialFormat {
  /** Checks the rendered Secret data (data key → string). */
  schema: z.ZodType;
  /** Data key → JSON fields of the value to take it from, any one of them ('.' = the whole value). */
  defaultKeys: Readonly<Record<string, readonly string[]>>;
  /** For a value that is not a JSON object: the data key that receives the whole value. */
  plaintextKey?: string;
}

const DATA_KEY = /^[-._a-zA-Z0-9]{1,253}$/;
const nonEmpty = z.string().min(1, 'expected a non-empty string');
const token = z.string().regex(/^\S+$/, 'expected a non-empty string without whitespace');
const accessKeyId = z
  .string()
  .regex(/^[A-Z0-9]{16,128}$/, 'expected an access key id (16+ capitals or digits)');
const roleArn = z
  .string()
  .regex(
    /^arn:aws(-cn|-us-gov)?:iam::\d{12}:role\/[\w+=,.@/-]+$/,
    'expected an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>)',
  );
const guid = z.guid('expected a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)');
const pemCertificate = z.string().includes('-----BEGIN CERTIFICATE-----', 'expected a PEM certificate');
const cloudsYaml = z.string().refine(hasCloudsKey, 'expected a clouds.yaml with a top-level "clouds:" key');

const serviceAccountKey = z.looseObject({
  type: z.literal('service_account', 'expected "service_account"'),
  project_id: nonEmpty,
  private_key: z.string().includes('PRIVATE KEY', 'expected a PEM private key'),
  client_email: z.email('expected an email address'),
});
const gcpCredentials = z
  .string()
  .transform((text, ctx) => {
    const json = parseJsonObject(text);
    if (json === undefined) ctx.addIssue({ code: 'custom', message: 'expected a service-account JSON key' });
    return json ?? z.NEVER;
  })
  .pipe(serviceAccountKey);

/** Every format, its schema over the rendered data and its default key map. */
export const FORMATS: Readonly<Record<FormatName, CredentialFormat>> = {
  'aws-static': {
    schema: z.looseObject({
      AccessKeyID: accessKeyId,
      SecretAccessKey: token,
      SessionToken: token.optional(),
    }),
    defaultKeys: {
      AccessKeyID: ['AccessKeyID', 'aws_access_key_id'],
      SecretAccessKey: ['SecretAccessKey', 'aws_secret_access_key'],
      SessionToken: ['SessionToken', 'aws_session_token'],
    },
  },
  'azure-sp': {
    schema: z.looseObject({ clientSecret: token }),
    defaultKeys: { clientSecret: ['clientSecret'] },
    plaintextKey: 'clientSecret',
  },
  vsphere: {
    schema: z.looseObject({ username: nonEmpty, password: nonEmpty }),
    defaultKeys: { username: ['username'], password: ['password'] },
  },
  openstack: {
    schema: z.looseObject({ 'clouds.yaml': cloudsYaml, cacert: pemCertificate.optional() }),
    defaultKeys: { 'clouds.yaml': ['clouds.yaml'], cacert: ['cacert'] },
    plaintextKey: 'clouds.yaml',
  },
  gcp: {
    schema: z.looseObject({ credentials: gcpCredentials }),
    defaultKeys: { credentials: [WHOLE_VALUE] },
  },
  'giantswarm-aws': {
    schema: z.looseObject({ 'aws.admin.arn': roleArn, 'aws.awsoperator.arn': roleArn }),
    defaultKeys: { 'aws.admin.arn': ['aws.admin.arn'], 'aws.awsoperator.arn': ['aws.awsoperator.arn'] },
  },
  'giantswarm-azure': {
    schema: z.looseObject({
      'azure.azureoperator.clientid': guid,
      'azure.azureoperator.clientsecret': token,
      'azure.azureoperator.subscriptionid': guid,
      'azure.azureoperator.tenantid': guid,
    }),
    defaultKeys: {
      'azure.azureoperator.clientid': ['azure.azureoperator.clientid'],
      'azure.azureoperator.clientsecret': ['azure.azureoperator.clientsecret'],
      'azure.azureoperator.subscriptionid': ['azure.azureoperator.subscriptionid'],
      'azure.azureoperator.tenantid': ['azure.azureoperator.tenantid'],
    },
  },
  raw: {
    schema: z.record(z.string(), z.string()).refine((data) => Object.keys(data).length > 0, {
      message: 'expected at least one string field',
    }),
    defaultKeys: {},
  },
};

/** Whether the text names a known credential format. */
export function isFormatName(text: string): text is FormatName {
  return (FORMAT_NAMES as readonly string[]).includes(text);
}

/** The Secret's string data (not base64) for a secret value; throws InvalidCredentialFormat. */
export function renderSecretData(
  format: FormatName,
  secretString: string,
  keys?: Record<string, string>,
): Record<string, string> {
  const spec = FORMATS[format];
  const json = parseJsonObject(secretString);
  const map = keyMap(format, spec, json, keys);
  if (typeof map === 'string') throw new InvalidCredentialFormat(format, [map]);
  const data: Record<string, string> = {};
  const issues: string[] = [];
  const reported = new Set<string>();
  for (const [dataKey, fields] of Object.entries(map)) {
    const problem = take(dataKey, fields, secretString, json, data, keys !== undefined);
    if (problem === undefined) continue;
    issues.push(problem);
    reported.add(dataKey);
  }
  const result = spec.schema.safeParse(data);
  for (const issue of result.success ? [] : result.error.issues) {
    const dataKey = String(issue.path[0] ?? '');
    if (!reported.has(dataKey)) issues.push(describeDataIssue(issue, dataKey, map[dataKey], data));
  }
  if (issues.length > 0) throw new InvalidCredentialFormat(format, issues);
  return data;
}

/** Parses the `identity-relay.dev/keys` annotation (data key → JSON field or '.'); throws InvalidInput. */
export function parseKeysAnnotation(text: string): Record<string, string> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InvalidInput('keys annotation: expected a JSON object (Secret data key → JSON field or ".")');
  }
  const result = keysAnnotation.safeParse(json);
  if (result.success) return result.data;
  const [first] = result.error.issues;
  throw new InvalidInput(`keys annotation: ${first === undefined ? 'invalid' : describeIssue(first)}`);
}

/** One line for a zod issue: its path and what was expected. Zod's messages name types, not inputs. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  const nested =
    issue.code === 'invalid_key' || issue.code === 'invalid_element' ? issue.issues[0] : undefined;
  const message = nested?.message ?? issue.message;
  return `${formatPath(issue.path)}: ${message}`;
}

/** A zod issue path as `a.b[0].c`, or `(root)` for the input itself. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path
    .map((part, index) =>
      typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`,
    )
    .join('');
}

const keysAnnotation = z
  .record(
    z.string().regex(DATA_KEY, 'expected a Secret data key (letters, digits, "-", "_", ".")'),
    // Field names show up in issues, which must stay one line.
    z.string().regex(/^[^\p{Cc}]+$/u, 'expected a JSON field name or "." (no control characters)'),
  )
  .refine((keys) => Object.keys(keys).length > 0, { message: 'expected at least one entry' });

/** The key map in force (annotation, plaintext key, default, or every string field for raw), or an issue. */
function keyMap(
  format: FormatName,
  spec: CredentialFormat,
  json: Record<string, unknown> | undefined,
  keys: Record<string, string> | undefined,
): Record<string, readonly string[]> | string {
  if (keys !== undefined) {
    return readable(Object.fromEntries(Object.entries(keys).map(([key, field]) => [key, [field]])), json);
  }
  if (json === undefined && spec.plaintextKey !== undefined) return { [spec.plaintextKey]: [WHOLE_VALUE] };
  if (format !== 'raw') return readable(spec.defaultKeys, json);
  if (json === undefined) return 'value: expected a JSON object, or a keys annotation like {"value": "."}';
  return rawKeyMap(json);
}

/** The map itself, or an issue when it needs JSON fields and the value is plaintext. */
function readable(
  map: Record<string, readonly string[]>,
  json: Record<string, unknown> | undefined,
): Record<string, readonly string[]> | string {
  const needsJson = Object.values(map).some((fields) => !fields.includes(WHOLE_VALUE));
  return json === undefined && needsJson
    ? 'value: expected a JSON object with the fields of the key map'
    : map;
}

/** Raw without a keys annotation: every top-level string field, each a valid Secret data key. */
function rawKeyMap(json: Record<string, unknown>): Record<string, readonly string[]> | string {
  const fields = Object.keys(json).filter((field) => typeof json[field] === 'string');
  if (fields.some((field) => !DATA_KEY.test(field))) {
    return 'value: expected every string field name to be a Secret data key (letters, digits, "-", "_", ".")';
  }
  return Object.fromEntries(fields.map((field) => [field, [field]]));
}

/** Copies one data key's value into `data`; returns an issue line, or undefined when fine. */
function take(
  dataKey: string,
  fields: readonly string[],
  secretString: string,
  json: Record<string, unknown> | undefined,
  data: Record<string, string>,
  named: boolean,
): string | undefined {
  const present = fields.filter(
    (field) => field === WHOLE_VALUE || (json !== undefined && Object.hasOwn(json, field)),
  );
  if (present.length > 1) return `data key ${dataKey}: expected one of ${origin(present)}, found both`;
  const [field] = present;
  // A field the keys annotation names must be there; for defaults, the schema decides what is required.
  if (field === undefined) return named ? `data key ${dataKey} (${origin(fields)}): required` : undefined;
  const value = field === WHOLE_VALUE ? secretString : json?.[field];
  if (typeof value !== 'string') return `data key ${dataKey} (${origin([field])}): expected a string`;
  data[dataKey] = value;
  return undefined;
}

function describeDataIssue(
  issue: z.core.$ZodIssue,
  dataKey: string,
  fields: readonly string[] | undefined,
  data: Record<string, string>,
): string {
  const where = fields === undefined ? `data key ${dataKey}` : `data key ${dataKey} (${origin(fields)})`;
  if (issue.path.length === 0) return `data: ${issue.message}`;
  if (!Object.hasOwn(data, dataKey) && issue.code === 'invalid_type') return `${where}: required`;
  const inner = issue.path.slice(1);
  return `${where}${inner.length > 0 ? `, field ${formatPath(inner)}` : ''}: ${issue.message}`;
}

/** Where a data key comes from, in words: `JSON field "a" or "b"`, or `the whole value`. */
function origin(fields: readonly string[]): string {
  if (fields.length === 1 && fields[0] === WHOLE_VALUE) return 'the whole value';
  return `JSON field ${fields.map((field) => (field === WHOLE_VALUE ? 'the whole value' : `"${field}"`)).join(' or ')}`;
}

/** The value as a JSON object, or undefined when it is not one (plaintext, array, number, …). */
function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether a clouds.yaml (YAML or its JSON form) has a top-level `clouds` key. */
function hasCloudsKey(text: string): boolean {
  if (/^clouds:/m.test(text)) return true;
  return isRecord(parseJsonObject(text)?.clouds);
}
