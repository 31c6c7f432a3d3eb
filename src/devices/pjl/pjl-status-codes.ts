import type { DeviceState } from '../device-driver.ts';

/**
 * What a PJL status CODE means for the device (HP PJL Technical Reference, "Status Codes"):
 * 10xxx informational, 11xxx background paper loading, 30xxx/35xxx auto-continuable
 * warnings, 40xxx operator intervention, 41xyy paper out, 42xyy paper jam, 50xxx hardware.
 * Reasons use IPP printer-state-reasons keywords so every driver speaks the same words.
 */
export function interpretStatusCode(
  code: number,
  online: boolean,
): { state: DeviceState; reasons: string[] } {
  const reasons: string[] = [];
  let state: DeviceState = 'idle';
  if (code === 10002 || !online) {
    state = 'stopped';
    reasons.push('offline');
  } else if (code === 10023 || code === 10024 || code === 10006) {
    state = 'printing';
  }
  if (code === 10006 || (code >= 30000 && code < 40000))
    reasons.push(code === 10006 ? 'toner-low' : 'other-warning');
  if (code >= 40000 && code < 50000) {
    state = 'stopped';
    if (code >= 41000 && code < 42000) reasons.push('media-empty');
    else if (code >= 42000 && code < 43000) reasons.push('media-jam');
    else if (code === 40021) reasons.push('door-open');
    else if (code === 40038 || code === 40039) reasons.push('toner-empty');
    else reasons.push('other');
  }
  if (code >= 50000 && code < 60000) {
    state = 'stopped';
    reasons.push('other');
  }
  return { state, reasons: [...new Set(reasons)] };
}
