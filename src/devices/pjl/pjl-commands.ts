import type { DirectConnect } from '../device-driver.ts';

/** Universal Exit Language: ends any PDL and returns the printer to PJL (HP PJL Technical Reference §2). */
export const UEL = Buffer.from('\x1b%-12345X', 'latin1');

const MAX_NAME = 80;

/**
 * Makes a job name safe inside a quoted PJL string: printable ASCII only (no quotes, no line
 * breaks, no ESC) and at most 80 characters, so a hostile name cannot inject PJL commands.
 */
export function pjlJobName(name: string): string {
  return name.replace(/[^\x20-\x7e]|"/g, '_').slice(0, MAX_NAME);
}

/** PJL language names for the MIME types we know; others go to the printer as `fallback`. */
export function pjlLanguage(format: string | undefined, fallback: string): string {
  switch (format) {
    case 'application/pdf':
      return 'PDF';
    case 'application/postscript':
      return 'POSTSCRIPT';
    case 'application/vnd.hp-pcl':
    case 'text/plain':
      return 'PCL';
    case 'application/vnd.hp-pclxl':
      return 'PCLXL';
    default:
      return fallback;
  }
}

/**
 * Everything before the document: UEL, status reporting on (so the printer tells us when the
 * job really ended), the job, and an explicit ENTER LANGUAGE so the document starts at a
 * known byte — the printer never has to guess where PJL stops.
 */
export function jobHeader(name: string, language: string): Buffer {
  return Buffer.concat([
    UEL,
    Buffer.from(
      '@PJL\r\n' +
        '@PJL USTATUS DEVICE=ON\r\n' +
        '@PJL USTATUS JOB=ON\r\n' +
        `@PJL JOB NAME="${pjlJobName(name)}"\r\n` +
        `@PJL ENTER LANGUAGE=${language}\r\n`,
      'latin1',
    ),
  ]);
}

/** Everything after the document: UEL ends the PDL, EOJ ends the job, a final UEL leaves the printer clean. */
export function jobTrailer(name: string): Buffer {
  return Buffer.concat([UEL, Buffer.from(`@PJL EOJ NAME="${pjlJobName(name)}"\r\n`, 'latin1'), UEL]);
}

/** An INFO query (STATUS, PAGECOUNT, ...) wrapped in UELs. */
export function infoQuery(category: string): Buffer {
  return Buffer.concat([UEL, Buffer.from(`@PJL INFO ${category}\r\n`, 'latin1'), UEL]);
}

/**
 * Seed 001's connection-establishment command (7G), mfp-gateway's PJL extension (docs/jobs.md):
 * leaves the PDL for one PJL line telling a direct-capable device to connect to the cloud by
 * itself, then enters the language again — the job goes on, its document continuing where it
 * stopped. MODE=PUSH has the cloud stream the rest over a WebSocket the device opens, MODE=PULL
 * has the device fetch it. Quotes cannot appear in the values: the URL and token are checked by
 * the job layer, the name by pjlJobName.
 */
export function connectCommand(name: string, connect: DirectConnect, language: string): Buffer {
  const safe = (text: string) => text.replace(/[^\x21-\x7e]|"/g, '');
  return Buffer.concat([
    UEL,
    Buffer.from(
      `@PJL MFPGW CONNECT NAME="${pjlJobName(name)}" URL="${safe(connect.url)}" TOKEN="${safe(connect.token)}" MODE=${connect.mode.toUpperCase()}\r\n` +
        `@PJL ENTER LANGUAGE=${language}\r\n`,
      'latin1',
    ),
  ]);
}

/**
 * Seed 001's interrupt command (7L): ends the data part without ending the job; the device keeps
 * what it holds and takes the rest over the direct connection it established.
 */
export function interruptCommand(name: string): Buffer {
  return Buffer.concat([
    UEL,
    Buffer.from(`@PJL MFPGW INTERRUPT NAME="${pjlJobName(name)}"\r\n`, 'latin1'),
    UEL,
  ]);
}
