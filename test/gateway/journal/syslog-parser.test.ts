import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSyslog, SyslogParseError } from '../../../src/gateway/journal/syslog-parser.ts';

const parse = (text: string | Uint8Array) =>
  parseSyslog(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);

function ok(text: string | Uint8Array) {
  const result = parse(text);
  if (result instanceof SyslogParseError) throw new Error(`unexpected ${result.code}: ${result.message}`);
  return result;
}

describe('parseSyslog (RFC 5424)', () => {
  it('reads every header field, the structured data and the message (RFC 5424 example 3)', () => {
    const message = ok(
      '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 ' +
        '[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry...',
    );
    expect(message).toEqual({
      facility: 20,
      severity: 5,
      timestamp: Date.UTC(2003, 9, 11, 22, 14, 15, 3),
      hostname: 'mymachine.example.com',
      appName: 'evntslog',
      procId: null,
      msgId: 'ID47',
      structuredData: [
        {
          id: 'exampleSDID@32473',
          params: [
            { name: 'iut', value: '3' },
            { name: 'eventSource', value: 'Application' },
            { name: 'eventID', value: '1011' },
          ],
        },
      ],
      message: 'An application event log entry...',
    });
  });

  it('applies the time offset and drops sub-millisecond digits (RFC 5424 example 2)', () => {
    const message = ok("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time");
    expect(message.timestamp).toBe(Date.UTC(2003, 7, 24, 12, 14, 15, 0));
    expect(message.procId).toBe('8710');
    expect(message.message).toBe("%% It's time");
  });

  it('takes NILVALUEs as null, and no MSG as ""', () => {
    expect(ok('<0>1 - - - - - -')).toEqual({
      facility: 0,
      severity: 0,
      timestamp: null,
      hostname: null,
      appName: null,
      procId: null,
      msgId: null,
      structuredData: [],
      message: '',
    });
  });

  it('unescapes \\" \\\\ \\] in PARAM-VALUE and keeps other backslashes; repeated names and elements', () => {
    const message = ok(
      '<14>1 - mfp - - - [job@32473 jobId="j-1" note="a \\"q\\" \\\\ \\] \\n"][origin ip="10.0.0.1" ip="10.0.0.2"]',
    );
    expect(message.structuredData).toEqual([
      {
        id: 'job@32473',
        params: [
          { name: 'jobId', value: 'j-1' },
          { name: 'note', value: 'a "q" \\ ] \\n' },
        ],
      },
      {
        id: 'origin',
        params: [
          { name: 'ip', value: '10.0.0.1' },
          { name: 'ip', value: '10.0.0.2' },
        ],
      },
    ]);
  });

  it('decodes a MSG with a BOM as UTF-8 and strips the BOM (RFC 5424 example 1)', () => {
    const bytes = Buffer.concat([
      Buffer.from('<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - '),
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from("'su root' failed for lonvick on /dev/pts/8 — ü"),
    ]);
    expect(ok(bytes).message).toBe("'su root' failed for lonvick on /dev/pts/8 — ü");
  });

  it.each([
    ['', 'MFP_SYSLOG_ERR_EMPTY'],
    ['no pri', 'MFP_SYSLOG_ERR_BAD_PRI'],
    ['<192>1 - - - - - -', 'MFP_SYSLOG_ERR_BAD_PRI'],
    ['<1000>1 - - - - - -', 'MFP_SYSLOG_ERR_BAD_PRI'],
    ['<>1 - - - - - -', 'MFP_SYSLOG_ERR_BAD_PRI'],
    ['<34>Oct 11 22:14:15 mymachine su: BSD syslog', 'MFP_SYSLOG_ERR_BAD_VERSION'],
    ['<34>2 - - - - - -', 'MFP_SYSLOG_ERR_BAD_VERSION'],
    ['<34>1 2003-02-29T00:00:00Z - - - - -', 'MFP_SYSLOG_ERR_BAD_TIMESTAMP'],
    ['<34>1 2003-10-11T23:59:60Z - - - - -', 'MFP_SYSLOG_ERR_BAD_TIMESTAMP'],
    ['<34>1 2003-10-11T22:14:15 - - - - -', 'MFP_SYSLOG_ERR_BAD_TIMESTAMP'],
    ['<34>1 2003-10-11T22:14:15.1234567Z - - - - -', 'MFP_SYSLOG_ERR_BAD_TIMESTAMP'],
    ['<34>1 - - - - -', 'MFP_SYSLOG_ERR_BAD_HEADER_FIELD'],
    ['<34>1 -  - - - -', 'MFP_SYSLOG_ERR_BAD_HEADER_FIELD'],
    [`<34>1 - - ${'a'.repeat(49)} - - -`, 'MFP_SYSLOG_ERR_BAD_HEADER_FIELD'],
    ['<34>1 - - - - - x', 'MFP_SYSLOG_ERR_BAD_STRUCTURED_DATA'],
    ['<34>1 - - - - - [a b="1"', 'MFP_SYSLOG_ERR_BAD_STRUCTURED_DATA'],
    ['<34>1 - - - - - [a b="1]', 'MFP_SYSLOG_ERR_BAD_STRUCTURED_DATA'],
    ['<34>1 - - - - - [a b=1]', 'MFP_SYSLOG_ERR_BAD_STRUCTURED_DATA'],
    ['<34>1 - - - - - [a][a]', 'MFP_SYSLOG_ERR_BAD_STRUCTURED_DATA'],
    ['<34>1 - - - - - []', 'MFP_SYSLOG_ERR_BAD_STRUCTURED_DATA'],
    ['<34>1 - - - - - [a]x', 'MFP_SYSLOG_ERR_BAD_HEADER_FIELD'],
  ])('refuses %j with %s', (text, code) => {
    const result = parse(text);
    expect(result).toBeInstanceOf(SyslogParseError);
    expect((result as SyslogParseError).code).toBe(code);
  });

  it('refuses invalid UTF-8 after a BOM and in a PARAM-VALUE', () => {
    const afterBom = Buffer.concat([
      Buffer.from('<34>1 - - - - - - '),
      Buffer.from([0xef, 0xbb, 0xbf, 0xc3, 0x28]),
    ]);
    const inParam = Buffer.concat([
      Buffer.from('<34>1 - - - - - [a b="'),
      Buffer.from([0xff]),
      Buffer.from('"]'),
    ]);
    expect((parse(afterBom) as SyslogParseError).code).toBe('MFP_SYSLOG_ERR_BAD_UTF8');
    expect((parse(inParam) as SyslogParseError).code).toBe('MFP_SYSLOG_ERR_BAD_UTF8');
  });

  it('returns a message or a coded error for any bytes, and never throws', () => {
    const header = fc.constantFrom('<14>1 - h app 1 id ', '<14>1 2026-01-05T10:00:00Z h a - - ', '<14>', '');
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 300 }), (prefix, tail) => {
        const result = parse(Buffer.concat([Buffer.from(prefix), tail]));
        if (result instanceof SyslogParseError) expect(result.code).toMatch(/^MFP_SYSLOG_ERR_/);
        else expect(result.severity).toBeLessThanOrEqual(7);
      }),
      { numRuns: 2000 },
    );
  });
});
