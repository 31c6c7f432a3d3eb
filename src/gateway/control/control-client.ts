import { http } from '../../runtime/node-http.ts';
import { REPORT_PATH } from './control-server.ts';
import type { DaemonReport } from './daemon-report.ts';

/** Why the daemon's report could not be had: nothing listens, no permission, or a bad answer. */
export class ControlError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'ControlError';
    this.code = code;
  }
}

/** Asks the daemon listening on the control socket at `path` for its report. */
export function fetchReport(path: string, timeoutMs: number): Promise<DaemonReport> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: path, path: REPORT_PATH, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => {
        try {
          if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
          resolve(JSON.parse(body) as DaemonReport);
        } catch (err) {
          reject(
            new ControlError('BAD_ANSWER', `the control socket gave no report (${(err as Error).message})`),
          );
        }
      });
    });
    req.on('timeout', () => {
      req.destroy();
      reject(
        new ControlError('ETIMEDOUT', `no answer on ${path} within ${timeoutMs} ms: is the gateway hung?`),
      );
    });
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(new ControlError(err.code ?? 'ERROR', err.message)),
    );
    req.end();
  });
}
