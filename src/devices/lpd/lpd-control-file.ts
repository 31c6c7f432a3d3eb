/** What goes into an RFC 1179 control file for one data file. */
export interface ControlFileSpec {
  /** Sending host name (H); RFC 1179 limits it to 31 characters. */
  host: string;
  /** User identification (P), at most 31 characters. */
  user: string;
  /** Job name for the banner (J), at most 99 characters. */
  jobName: string;
  /** Name of the data file in the queue, e.g. dfA123gateway. */
  dataFileName: string;
  /** Name of the source file shown in the queue (N). */
  sourceName: string;
}

/** Characters that would break the line-oriented control file or smuggle commands in. */
function clean(value: string, max: number): string {
  return value.replace(/[^\x20-\x7e]/g, '_').slice(0, max);
}

/**
 * Builds the control file: `l` (print the data file literally, control characters kept —
 * the document goes to the printer byte for byte, no text filter) and `U` (unlink it after).
 */
export function controlFile(spec: ControlFileSpec): Buffer {
  const dataFile = clean(spec.dataFileName, 99);
  const lines = [
    `H${clean(spec.host, 31)}`,
    `P${clean(spec.user, 31)}`,
    `J${clean(spec.jobName, 99)}`,
    `l${dataFile}`,
    `U${dataFile}`,
    `N${clean(spec.sourceName, 131)}`,
  ];
  return Buffer.from(`${lines.join('\n')}\n`, 'latin1');
}

/** dfA/cfA file names: three-digit job number and the host name (RFC 1179 §7.2). */
export function queueFileNames(jobNumber: number, host: string): { data: string; control: string } {
  const suffix = `${String(jobNumber % 1000).padStart(3, '0')}${clean(host, 31).replace(/[\s/]/g, '_')}`;
  return { data: `dfA${suffix}`, control: `cfA${suffix}` };
}
