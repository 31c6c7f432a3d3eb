import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const INSTALL_SH = fileURLToPath(new URL('../../board/install.sh', import.meta.url));

/** The firmware config.txt of a fresh Raspberry Pi OS Lite (bookworm), abridged. */
export const PI_CONFIG_TXT = `# For more options and information see
# http://rptl.io/configtxt
dtparam=audio=on
camera_auto_detect=1
display_auto_detect=1
auto_initramfs=1
dtoverlay=vc4-kms-v3d
max_framebuffers=2
arm_64bit=1

[cm4]
otg_mode=1
`;

/** A directory that looks enough like a fresh Raspberry Pi OS root for install.sh. */
export function makeRootfs(root: string): void {
  const file = (path: string, text: string, mode = 0o644) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
    chmodSync(join(root, path), mode);
  };
  file('etc/passwd', 'root:x:0:0:root:/root:/bin/bash\npi:x:1000:1000:,,,:/home/pi:/bin/bash\n');
  file('etc/group', 'root:x:0:\ndialout:x:20:pi\npi:x:1000:\n');
  file('etc/shadow', 'root:*:19800:0:99999:7:::\npi:*:19800:0:99999:7:::\n', 0o640);
  file('etc/gshadow', 'root:*::\ndialout:*::pi\npi:!::\n', 0o640);
  file('usr/sbin/nologin', '#!/bin/sh\nexit 1\n', 0o755);
  file('boot/firmware/config.txt', PI_CONFIG_TXT);
}

/** Runs board/install.sh (or another script) and returns its exit status and output. */
export function runScript(script: string, args: string[]): { status: number | null; output: string } {
  const run = spawnSync('bash', [script, ...args], { encoding: 'utf8' });
  if (run.error) throw run.error;
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** Every entry under root with type, mode, owner, content hash or link target, and a file's or link's time. */
export function snapshot(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const path = join(root, rel);
    const st = lstatSync(path);
    const meta = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
    if (st.isSymbolicLink()) out.push(`${rel} -> ${readlinkSync(path)} ${st.mtimeMs}`);
    else if (st.isDirectory()) {
      // A directory's time moves with the temporary files made and removed in it.
      out.push(`${rel}/ ${meta}`);
      for (const name of readdirSync(path).sort()) walk(rel ? `${rel}/${name}` : name);
    } else
      out.push(
        `${rel} ${meta} ${st.mtimeMs} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`,
      );
  };
  walk('');
  return out;
}

/** The passwd entry of a user in root's /etc/passwd, split into its fields. */
export function passwdEntry(root: string, user: string): string[] | undefined {
  return readFileSync(join(root, 'etc/passwd'), 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === user);
}
