import { PjlDriver, type PjlDriverOptions } from '../pjl/pjl-driver.ts';
import { SerialLink, type SerialLinkOptions } from './serial-link.ts';

export type SerialPjlDriverOptions = Omit<SerialLinkOptions, 'deviceId'> &
  Omit<PjlDriverOptions, 'link'> & { id: string };

/**
 * A PJL printer on a serial line: the PJL driver over a SerialLink. Opens the port before
 * resolving (a missing port is not an error: the line reopens by itself once it appears).
 */
export async function openSerialPjlDriver(
  options: SerialPjlDriverOptions,
): Promise<{ driver: PjlDriver; link: SerialLink }> {
  const link = new SerialLink({ ...options, deviceId: options.id });
  await link.start();
  const driver = new PjlDriver({ ...options, link });
  return { driver, link };
}
