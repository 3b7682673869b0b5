/**
 * The one thing the lab changes outside its data dir: a dedicated local Unix account (default
 * 'pcdemo') for the SSH and Telnet targets, because sshd and /bin/login authenticate real
 * accounts. Created idempotently with useradd; its password is set with chpasswd via stdin.
 * An existing account is only ever touched if it carries the lab's marker comment (GECOS).
 */
import { closeSync, constants, fstatSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { LabStartError, requireBinary, Supervisor } from './process.js';

export const DEFAULT_LAB_ACCOUNT = 'pcdemo';
/** GECOS of accounts created by the lab: the marker that makes them ours. */
export const LAB_ACCOUNT_GECOS = 'Portcullis demo lab';

const PROFILE_FILE = '.portcullis-lab.sh';
const BASHRC_LINE = `[ -r ~/${PROFILE_FILE} ] && . ~/${PROFILE_FILE} # portcullis-lab`;

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  gecos: string;
  home: string;
  shell: string;
}

export function lookupAccount(name: string): PasswdEntry | undefined {
  const text = readFileSync('/etc/passwd', 'utf8');
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 7) {
      return { name, uid: Number(f[2]), gid: Number(f[3]), gecos: f[4] ?? '', home: f[5] ?? '', shell: f[6] ?? '' };
    }
  }
  return undefined;
}

export function validateAccountName(name: string): void {
  if (!/^[a-z][a-z0-9-]{1,30}$/.test(name)) {
    throw new LabStartError(`lab account name ${JSON.stringify(name)} is invalid (lowercase letters, digits, '-')`);
  }
}

function assertOurs(entry: PasswdEntry): void {
  if (entry.gecos !== LAB_ACCOUNT_GECOS || entry.uid < 1000) {
    throw new LabStartError(
      `refusing to use the existing account '${entry.name}': it was not created by the Portcullis lab ` +
        `(comment '${entry.gecos}', uid ${entry.uid}); choose another account name`,
    );
  }
}

/** Creates the account if needed, sets its password, installs the shell greeting. */
export async function ensureLabAccount(sup: Supervisor, name: string, password: string): Promise<PasswdEntry> {
  validateAccountName(name);
  let entry = lookupAccount(name);
  if (!entry) {
    const r = await sup.run(
      requireBinary('useradd'),
      ['--create-home', '--user-group', '--shell', '/bin/bash', '--comment', LAB_ACCOUNT_GECOS, name],
      { name: 'useradd' },
    );
    entry = lookupAccount(name); // a concurrent start may have created it: fine if it is ours
    if (!entry) throw new LabStartError(`useradd ${name} failed (exit ${r.code}): ${r.stderr}`);
  }
  assertOurs(entry);
  await sup.runOk(requireBinary('chpasswd'), [], { name: 'chpasswd', stdin: `${name}:${password}\n` });
  installGreeting(entry);
  return entry;
}

/**
 * Interactive shells of the account greet with the target's name and show it in the prompt.
 * sshd sets PORTCULLIS_LAB_TARGET (SetEnv), the telnet login wrapper exports it.
 */
function installGreeting(entry: PasswdEntry): void {
  const script = [
    '# Written by the Portcullis demo lab (lab/account.ts). Sourced from ~/.bashrc.',
    'if [ -n "$PORTCULLIS_LAB_TARGET" ]; then',
    '  printf \'\\n  %s / Demo Plant / Portcullis demo lab\\n\\n\' "$PORTCULLIS_LAB_TARGET"',
    '  PS1="\\u@$PORTCULLIS_LAB_TARGET:\\w\\$ "',
    'fi',
    '',
  ].join('\n');
  writeInHome(path.join(entry.home, PROFILE_FILE), (current) => (current === script ? undefined : script));
  writeInHome(path.join(entry.home, '.bashrc'), (current) => {
    if (current.includes(BASHRC_LINE)) return undefined;
    const sep = current === '' || current.endsWith('\n') ? '' : '\n';
    return `${current}${sep}${BASHRC_LINE}\n`;
  });
}

/**
 * Rewrites a file in the account's home as root without following a symlink the account may have
 * planted there (O_NOFOLLOW), and only if it is a regular file.
 */
function writeInHome(file: string, update: (current: string) => string | undefined): void {
  const fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.nlink !== 1) throw new LabStartError(`lab: ${file} is not a plain regular file`);
    const next = update(readFileSync(fd, 'utf8'));
    if (next === undefined) return;
    ftruncateSync(fd, 0);
    writeSync(fd, next, 0, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/** Deletes an account created by the lab (and its home). Refuses any other account. */
export async function removeLabAccount(name: string, sup: Supervisor = new Supervisor()): Promise<boolean> {
  validateAccountName(name);
  const entry = lookupAccount(name);
  if (!entry) return false;
  assertOurs(entry);
  const r = await sup.run(requireBinary('userdel'), ['--remove', name], { name: 'userdel' });
  if (lookupAccount(name)) throw new LabStartError(`userdel ${name} failed (exit ${r.code}): ${r.stderr}`);
  return true;
}
