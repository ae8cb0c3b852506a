// Signatures of exports, made and checked with ssh-keygen -Y: an SSH key signs the archive, and
// whoever imports it checks the signature against the public key before anything is extracted.
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errnoOf, VsError } from '../util/errors.js';
import { lstatIfExists } from '../util/fs.js';
import { lastLines, run } from '../util/proc.js';

/** What the signature is for: a signature made for something else does not verify as an export. */
export const SIG_NAMESPACE = 'vserver-export';

/** Signs file with a private key; ssh-keygen writes FILE.sig, whose path is returned. */
export async function signFile(file: string, key: string): Promise<string> {
  // a key with a passphrase asks for it on the terminal
  const r = await run('ssh-keygen', ['-Y', 'sign', '-q', '-f', key, '-n', SIG_NAMESPACE, file], { stdio: ['inherit', 'pipe', 'pipe'] });
  if (r.code !== 0) {
    throw new VsError(
      'INVALID_VALUE',
      `cannot sign the export with ${key}: ${lastLines(r.stderr, 2) || `ssh-keygen exited ${r.code}`}`,
      'give the private key of an SSH key pair (make one with: ssh-keygen -t ed25519 -f KEY)',
    );
  }
  return `${file}.sig`;
}

/** The first key line of a public key file (KEY.pub, or an authorized_keys style line). */
function publicKeyLine(pubKey: string): string {
  let text: string;
  try {
    text = readFileSync(pubKey, 'utf8');
  } catch (e) {
    if (errnoOf(e) === 'ENOENT')
      throw new VsError('NOT_FOUND', `public key ${pubKey} not found`, 'give the .pub file of the key the export was signed with');
    throw e;
  }
  const line = text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => /^(ssh-|ecdsa-|sk-)\S+ [A-Za-z0-9+/=]+/.test(l));
  if (line === undefined)
    throw new VsError('INVALID_VALUE', `${pubKey} holds no SSH public key`, 'give the .pub file of the key the export was signed with');
  return line;
}

/** Throws CHECKSUM_MISMATCH unless sig is a good signature of file by pubKey. */
export async function verifyFile(file: string, sig: string, pubKey: string, scratch: string): Promise<void> {
  if (lstatIfExists(sig) === undefined) {
    throw new VsError(
      'NOT_FOUND',
      `no signature ${sig} beside the export`,
      'copy FILE.sig along with the export (vserver export --sign makes it)',
    );
  }
  const allowed = join(scratch, `allowed-signers-${process.pid}`);
  writeFileSync(allowed, `${SIG_NAMESPACE} ${publicKeyLine(pubKey)}\n`, { mode: 0o600 });
  const fd = openSync(file, 'r');
  try {
    const r = await run('ssh-keygen', ['-Y', 'verify', '-f', allowed, '-I', SIG_NAMESPACE, '-n', SIG_NAMESPACE, '-s', sig], {
      stdio: [fd, 'pipe', 'pipe'],
    });
    if (r.code !== 0) {
      throw new VsError(
        'CHECKSUM_MISMATCH',
        `${file} is not signed by ${pubKey}: ${lastLines(r.stderr, 2) || lastLines(r.stdout, 2) || `ssh-keygen exited ${r.code}`}`,
        'nothing was imported; get the export and its .sig from its maker again, or check that you have the right key',
      );
    }
  } finally {
    closeSync(fd);
    rmSync(allowed, { force: true });
  }
}
