/**
 * Secrets Manager secret identifiers, compared the way Secrets Manager resolves them.
 *
 * A secret can be named three ways:
 * - its name, e.g. `prod/aws/capa` (letters, digits and `/_+=.@-`);
 * - its full ARN, `arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<suffix>`, where
 *   `<suffix>` is six random letters or digits that Secrets Manager appends when it creates the secret;
 * - a partial ARN: the full ARN without the `-<suffix>`.
 *
 * The rule: a full ARN's name is the part after `secret:` minus the trailing `-XXXXXX` suffix. A name may
 * itself end in `-` and six letters (`my-secret`), so the ARN `…:secret:my-secret` is either the partial
 * ARN of `my-secret` or the full ARN of `my`. Secrets Manager has the same ambiguity (and advises against
 * such names); `secretIdMatches` accepts both readings. A false match only makes the caller re-read a
 * binding's own source, which changes nothing, so erring towards a match is the safe side.
 */

/** The parts of a Secrets Manager secret ARN. */
export interface SecretArn {
  partition: string;
  region: string;
  accountId: string;
  /** Everything after `secret:`: `<name>-<suffix>` for a full ARN, `<name>` for a partial one. */
  resource: string;
  /** The name when `resource` is read as a full ARN (suffix removed), else `resource` itself. */
  name: string;
  /** The six-character random suffix when `resource` ends like a full ARN, else undefined. */
  suffix: string | undefined;
}

const ARN = /^arn:(aws(?:-[a-z]+)*):secretsmanager:([a-z0-9-]+):(\d{12}):secret:([A-Za-z0-9/_+=.@-]+)$/;
const SUFFIX = /^(.+)-([A-Za-z0-9]{6})$/;
const NAME = /^[A-Za-z0-9/_+=.@-]+$/;

/** Parses a Secrets Manager secret ARN (full or partial); undefined when the text is not one. */
export function parseSecretArn(text: string): SecretArn | undefined {
  const match = ARN.exec(text);
  if (match === null) return undefined;
  const [, partition = '', region = '', accountId = '', resource = ''] = match;
  const full = SUFFIX.exec(resource);
  return {
    partition,
    region,
    accountId,
    resource,
    name: full?.[1] ?? resource,
    suffix: full?.[2],
  };
}

/** Whether the text is a valid secret name (not an ARN). */
export function isSecretName(text: string): boolean {
  return NAME.test(text) && !text.startsWith('arn:');
}

/**
 * Whether a binding's source (name, partial or full ARN) and an event's secret id (likewise) can name the
 * same secret.
 */
export function secretIdMatches(bindingSource: string, eventSecretId: string): boolean {
  const a = parseSecretArn(bindingSource);
  const b = parseSecretArn(eventSecretId);
  if (a === undefined && b === undefined) return bindingSource === eventSecretId;
  if (a === undefined) return isSecretName(bindingSource) && resourceNames(b, bindingSource);
  if (b === undefined) return isSecretName(eventSecretId) && resourceNames(a, eventSecretId);
  if (a.partition !== b.partition || a.region !== b.region || a.accountId !== b.accountId) return false;
  // Same resource, or one is the partial ARN of the other (the other adds `-<suffix>`).
  return a.resource === b.resource || resourceNames(a, b.resource) || resourceNames(b, a.resource);
}

/** Whether an ARN's resource is `name` (partial ARN) or `name-XXXXXX` (full ARN). */
function resourceNames(arn: SecretArn | undefined, name: string): boolean {
  if (arn === undefined) return false;
  if (arn.resource === name) return true;
  return arn.suffix !== undefined && arn.name === name;
}

/** How precisely an id names one secret: full ARN (2) > partial ARN (1) > name (0). Ties keep the first. */
export function secretIdSpecificity(secretId: string): number {
  const arn = parseSecretArn(secretId);
  if (arn === undefined) return 0;
  return arn.suffix === undefined ? 1 : 2;
}
