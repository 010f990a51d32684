import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

// The testbed's own CA and certificates, made with the openssl command line (EC P-256: fast to make).

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    throw new Error(
      `testbed: openssl ${args[0]} failed (is openssl installed? apt-get install openssl): ${(error as Error).message.split('\n')[0]}`,
    );
  }
}

export interface Pair {
  cert: string;
  key: string;
}

/** Creates a self-signed CA in `dir`, valid two days. */
export function createCa(dir: string): Pair {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '2',
      '-subj',
      '/CN=identity-relay-testbed-ca',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
}

/** Issues a certificate signed by `ca`: a serving one (SANs localhost, 127.0.0.1) or a client one. */
export function issue(
  dir: string,
  ca: Pair,
  name: string,
  subject: string,
  usage: 'server' | 'client',
): Pair {
  const ext = join(dir, `${name}.ext`);
  writeFileSync(
    ext,
    usage === 'server'
      ? 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n'
      : 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n',
  );
  openssl(
    [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      subject,
    ],
    dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      ca.cert,
      '-CAkey',
      ca.key,
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      ext,
      '-out',
      `${name}.crt`,
    ],
    dir,
  );
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

/** Creates a service-account signing key pair (private key, public key). */
export function createSigningKey(dir: string, name: string): Pair {
  openssl(['ecparam', '-genkey', '-name', 'prime256v1', '-noout', '-out', `${name}.key`], dir);
  openssl(['ec', '-in', `${name}.key`, '-pubout', '-out', `${name}.pub`], dir);
  return { cert: join(dir, `${name}.pub`), key: join(dir, `${name}.key`) };
}
