import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { decryptFile } from '../../storage/secure-file.ts';
import { parseStorageKey, SecureFileError } from '../../storage/secure-format.ts';

/** Exit status for a file or key that cannot be used. */
const EXIT_FAILURE = 1;
/** Exit status for a wrong command line (sysexits EX_USAGE). */
const EXIT_USAGE = 64;

interface DecryptFlags {
  keyFile?: string;
  keyEnv?: string;
  output?: string;
  force?: boolean;
}

/** The storage key from the file or environment variable the flags name; never from the command line itself. */
async function readKey(flags: DecryptFlags): Promise<Buffer> {
  let text: string;
  let from: string;
  if (flags.keyFile !== undefined) {
    from = `key file ${flags.keyFile}`;
    try {
      text = await readFile(flags.keyFile, 'utf8');
    } catch (err) {
      throw new SecureFileError(
        'MFP_STORE_ERR_BAD_KEY',
        `cannot read the ${from}: ${(err as Error).message}`,
      );
    }
  } else {
    from = `environment variable ${flags.keyEnv}`;
    text = process.env[flags.keyEnv ?? ''] ?? '';
    if (text === '') throw new SecureFileError('MFP_STORE_ERR_BAD_KEY', `the ${from} is not set`);
  }
  try {
    return parseStorageKey(text);
  } catch (err) {
    if (err instanceof SecureFileError) throw new SecureFileError(err.code, `${from}: ${err.message}`);
    throw err;
  }
}

/** `mfp-gateway decrypt`: recovers a file that a secure-storage job stored encrypted. */
export function decryptCommand(): Command {
  const command: Command = new Command('decrypt')
    .description('decrypt a file stored by a secure-storage job (NAME.enc) with the site’s storage key')
    .argument('<input>', 'the encrypted file, e.g. report.pdf.enc')
    .addOption(new Option('--key-file <file>', 'read the storage key from this file').conflicts('keyEnv'))
    .option('--key-env <name>', 'read the storage key from this environment variable, e.g. MFPGW_STORAGE_KEY')
    .option('-o, --output <file>', 'where the decrypted file goes (default: INPUT without ".enc")')
    .option('--force', 'replace the output file if it exists')
    .showHelpAfterError('(run mfp-gateway decrypt --help for usage)')
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE))
    .addHelpText(
      'after',
      `
The key is the storage key of the site whose gateway stored the file: "storage.key" in the
gateway config (or the MFPGW_STORAGE_KEY environment variable that overrides it), 32 bytes
as base64 or hex. It is never taken on the command line, where ps and the shell history would
show it: put it in a file only you can read, or in an environment variable.

The output appears only once the whole file has been verified: with a wrong key, or a file
that was changed or cut short, nothing is written.

Exit status: 0 decrypted; 1 the file or key cannot be used (wrong key, changed, cut short,
not an encrypted file, missing, output exists); 64 wrong usage.

Examples:
  mfp-gateway decrypt --key-file ~/site-a.key /mnt/nas/report.pdf.enc
  mfp-gateway decrypt --key-env MFPGW_STORAGE_KEY scan.pdf-1.enc -o scan-2.pdf`,
    )
    .action(async (input: string, flags: DecryptFlags) => {
      if (flags.keyFile === undefined && flags.keyEnv === undefined) {
        command.error('error: give the storage key with --key-file FILE or --key-env NAME');
      }
      const output = flags.output ?? (input.endsWith('.enc') ? input.slice(0, -'.enc'.length) : undefined);
      if (output === undefined || output === '') {
        command.error(`error: ${input} does not end in ".enc"; name the output with -o FILE`);
      }
      try {
        const key = await readKey(flags);
        const { bytes } = await decryptFile(input, output, key, { overwrite: flags.force === true });
        process.stdout.write(`decrypted ${bytes} bytes to ${output}\n`);
      } catch (err) {
        if (!(err instanceof SecureFileError)) throw err;
        const message =
          err.code === 'MFP_STORE_ERR_EXISTS'
            ? `${output} already exists; pass --force to replace it or -o to write elsewhere`
            : err.message;
        process.stderr.write(`mfp-gateway decrypt: ${message} (${err.code})\n`);
        process.exitCode = EXIT_FAILURE;
      }
    });
  return command;
}
