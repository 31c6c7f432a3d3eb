import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPORT_PATH, startControlServer } from '../../../src/gateway/control/control-server.ts';
import { http } from '../../../src/runtime/node-http.ts';
import { capturedLogs } from '../../support/captured-logs.ts';
import { deferredTeardown } from '../../support/teardown.ts';

const defer = deferredTeardown();

function get(socketPath: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, path }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('control socket', () => {
  it('answers 500 and logs when building the report fails, and serves on (issue 13)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mfpgw-control-'));
    defer(() => rmSync(dir, { recursive: true, force: true }));
    const { logger, logs } = capturedLogs();
    let fail = true;
    const server = startControlServer({
      path: join(dir, 'control.sock'),
      logger,
      report: () => {
        if (fail) throw new Error('a part of the report is broken');
        return { ok: true };
      },
    });
    defer(() => server.stop());
    expect(await server.ready).toBe(true);
    expect(await get(join(dir, 'control.sock'), REPORT_PATH)).toBe(500);
    expect(logs.some((l) => l.msg === 'request handler failed; answered with an error')).toBe(true);
    fail = false;
    expect(await get(join(dir, 'control.sock'), REPORT_PATH)).toBe(200);
  });
});
