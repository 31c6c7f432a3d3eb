import { join } from 'node:path';
import type { DeviceConfig } from '../../config/device-config.ts';
import type { RemoteShare } from '../../devices/storage/remote-share.ts';
import { SftpShare } from '../../devices/storage/sftp-share.ts';
import { SmbShare } from '../../devices/storage/smb-share.ts';
import type { StorageDriverOptions } from '../../devices/storage/storage-driver.ts';

type StorageConfig = Extract<DeviceConfig, { driver: 'storage' }>;

const SFTP_PORT = 22;
const SMB_PORT = 445;

/**
 * Where a storage device stores: its mounted directory, or the file server of its url (the
 * config's schema has checked that exactly one is given, with the credentials each needs).
 * Encrypted spool files of documents of unknown length wait in the state dir (never plaintext).
 */
export function storageTarget(config: StorageConfig, stateDir: string): StorageDriverOptions['target'] {
  if (config.url === undefined) return { directory: config.directory ?? '' };
  return { share: remoteShare(config), spoolDirectory: join(stateDir, 'storage-spool', config.id) };
}

function remoteShare(config: StorageConfig): RemoteShare {
  const url = new URL(config.url ?? '');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const path = decodeURIComponent(url.pathname);
  const timeoutMs = config.timeout;
  if (url.protocol === 'sftp:') {
    return new SftpShare({
      host,
      port: url.port === '' ? SFTP_PORT : Number(url.port),
      username: decodeURIComponent(url.username),
      directory: path === '' ? '/' : path,
      hostKey: config.hostKey ?? '',
      password: config.password,
      privateKeyFile: config.privateKeyFile,
      timeoutMs,
    });
  }
  const [share = '', ...dirs] = path.split('/').filter((p) => p !== '');
  return new SmbShare({
    host,
    port: url.port === '' ? SMB_PORT : Number(url.port),
    share,
    directory: dirs.join('/'),
    username: config.username ?? '',
    password: config.password ?? '',
    domain: config.domain,
    protection: config.protection,
    timeoutMs,
  });
}
