import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCli } from '../support/cli-process.ts';
import { startSambaServer, startSftpServer } from '../support/file-servers.ts';
import { fileSha256, jobReaches, postJob, sha256, startDeviceSite, withJobLogs } from '../support/jobs.ts';
import { processTeardown } from '../support/teardown.ts';

const { track, scratch, defer } = processTeardown('SIGKILL');

/**
 * Seed 001's secure storage end to end on real file servers: a storage job posted to the cloud
 * travels through a tunnel over the gateway's push line; the gateway encrypts it and stores it on
 * OpenSSH's sftp-server and on Samba; `mfp-gateway decrypt` gives back the document byte-exact.
 */
describe('storage jobs to real file servers', () => {
  it('stores through the tunnel on SFTP and SMB, encrypted, byte-exact once decrypted', {
    timeout: 90_000,
  }, async () => {
    const dir = scratch('storage-servers');
    const [sftp, samba] = await Promise.all([startSftpServer(), startSambaServer()]);
    defer(() => sftp.stop());
    defer(() => samba.stop());
    const key = randomBytes(32).toString('base64');
    const { cloud, gw } = await startDeviceSite(dir, track, {
      devices: [
        {
          id: 'sftp-nas',
          driver: 'storage',
          url: sftp.url,
          hostKey: sftp.hostKey,
          privateKeyFile: sftp.privateKeyFile,
        },
        {
          id: 'smb-nas',
          driver: 'storage',
          url: samba.url,
          username: samba.username,
          password: samba.password,
        },
      ],
      gateway: { storage: { key } },
    });
    const docs = { sftp: randomBytes(1_500_000), smb: randomBytes(1_200_000) };
    const jobs = await Promise.all([
      postJob(
        cloud,
        { gateway: 'gw1', device: 'sftp-nas', type: 'storage', name: 'contract.pdf' },
        docs.sftp,
      ),
      postJob(cloud, { gateway: 'gw1', device: 'smb-nas', type: 'storage', name: 'invoice.pdf' }, docs.smb),
    ]);
    for (const job of jobs) expect(job.status).toBe(202);
    const done = await withJobLogs({ cloud: cloud.proc, gateway: gw }, () =>
      Promise.all(jobs.map((j) => jobReaches(cloud, j.body.id, ['done', 'failed'], 40_000))),
    );
    expect(done.map((j) => j.state)).toEqual(['done', 'done']);

    expect(readdirSync(sftp.dir)).toEqual(['contract.pdf.enc']);
    expect(readdirSync(samba.dir)).toEqual(['invoice.pdf.enc']);
    const keyFile = join(dir, 'storage.key');
    writeFileSync(keyFile, key);
    for (const [stored, doc] of [
      [join(sftp.dir, 'contract.pdf.enc'), docs.sftp],
      [join(samba.dir, 'invoice.pdf.enc'), docs.smb],
    ] as const) {
      expect(readFileSync(stored).includes(doc.subarray(0, 64))).toBe(false);
      const out = `${stored}.out`;
      const decrypt = startCli(['decrypt', '--key-file', keyFile, stored, '-o', out]);
      expect(await decrypt.exited()).toBe(0);
      expect(fileSha256(out)).toBe(sha256(doc));
    }
  });
});
