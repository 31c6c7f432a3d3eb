import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import type { DeviceConfig } from '../config/device-config.ts';
import { storageTarget } from '../gateway/devices/storage-target.ts';
import type { CheckResult } from './check-result.ts';
import type { CheckContext } from './cloud-checks.ts';
import { connectTcp, type PathError } from './cloud-path.ts';

/** Where a network device listens: its host and port (an IPP URI's port defaults to 631). */
function networkAddress(device: DeviceConfig): { host: string; port: number } | null {
  switch (device.driver) {
    case 'pjl':
    case 'lpd':
      return { host: device.host, port: device.port };
    case 'ipp': {
      const uri = new URL(device.uri.replace(/^ipps?:/, 'http:'));
      return { host: uri.hostname.replace(/^\[|\]$/g, ''), port: Number(uri.port || 631) };
    }
    default:
      return null;
  }
}

/** Can the gateway reach this device: a TCP connection for LAN printers, access for ports and folders. */
export async function checkDevice(ctx: CheckContext, device: DeviceConfig): Promise<CheckResult> {
  const check = `device:${device.id}`;
  const address = networkAddress(device);
  if (address) {
    const name = `${address.host}:${address.port}`;
    const started = ctx.clock.now();
    try {
      const socket = await connectTcp(ctx.clock, address.host, address.port, ctx.timeoutMs);
      socket.destroy();
      return {
        check,
        status: 'ok',
        message: `${device.driver} at ${name} answers (${ctx.clock.now() - started} ms)`,
      };
    } catch (err) {
      const code = (err as PathError).code;
      const refused = code === 'ECONNREFUSED';
      return {
        check,
        status: 'fail',
        message: refused
          ? `${name} refuses connections (${code}): nothing listens on port ${address.port}`
          : `${name} does not answer (${code})`,
        fix: refused
          ? `check the device’s port in devices[${device.id}] and that ${device.driver.toUpperCase()} printing is enabled on the device`
          : `check that the device is on and on this LAN, and its address in devices[${device.id}]`,
      };
    }
  }
  if (device.driver === 'serial') {
    try {
      await access(device.path, constants.R_OK | constants.W_OK);
      return { check, status: 'ok', message: `serial port ${device.path} is there and may be opened` };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return {
        check,
        status: 'fail',
        message: `serial port ${device.path}: ${code === 'ENOENT' ? 'no such port' : `cannot open it (${code})`}`,
        fix:
          code === 'ENOENT'
            ? 'plug the adapter in; `ls /dev/serial/by-id/` lists the ports there are'
            : 'the service’s user opens serial ports through the dialout group (the unit sets it); run doctor as that user or root',
      };
    }
  }
  if (device.driver === 'storage' && device.url !== undefined) {
    const target = storageTarget(device, '');
    const problem =
      'share' in target ? await target.share.problem(AbortSignal.timeout(ctx.timeoutMs)) : undefined;
    return problem === undefined
      ? { check, status: 'ok', message: `file server ${device.url} answers and the login works` }
      : {
          check,
          status: 'fail',
          message: `file server ${device.url}: ${problem}`,
          fix: `check the url and credentials of devices[${device.id}] and that the server is up`,
        };
  }
  const directory = device.driver === 'storage' ? (device.directory ?? '') : '';
  const broken = (problem: string): CheckResult => ({
    check,
    status: 'fail',
    message: `storage folder ${directory}: ${problem}`,
    fix: 'mount the share there (see /etc/fstab) and let the service’s user write to it',
  });
  try {
    await access(directory, constants.W_OK);
  } catch (err) {
    return broken(`not writable (${(err as NodeJS.ErrnoException).code})`);
  }
  if (!(await stat(directory)).isDirectory()) return broken('not a folder');
  return { check, status: 'ok', message: `storage folder ${directory} is there and writable` };
}
