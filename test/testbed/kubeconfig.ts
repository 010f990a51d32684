import { readFileSync } from 'node:fs';

/** Credentials a kubeconfig user can carry in the testbed: a client certificate or a bearer token. */
export type TestbedUser = { certFile: string; keyFile: string } | { token: string };

const b64 = (file: string): string => readFileSync(file).toString('base64');

/** A self-contained kubeconfig (inline CA and client data), usable from a file or a Secret. */
export function renderKubeconfig(cluster: string, server: string, caFile: string, user: TestbedUser): string {
  const userLines =
    'token' in user
      ? [`    token: ${user.token}`]
      : [`    client-certificate-data: ${b64(user.certFile)}`, `    client-key-data: ${b64(user.keyFile)}`];
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${cluster}`,
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(caFile)}`,
    'users:',
    `- name: ${cluster}-admin`,
    '  user:',
    ...userLines,
    'contexts:',
    `- name: ${cluster}`,
    '  context:',
    `    cluster: ${cluster}`,
    `    user: ${cluster}-admin`,
    `current-context: ${cluster}`,
    '',
  ].join('\n');
}
