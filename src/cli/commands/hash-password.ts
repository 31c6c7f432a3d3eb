import { Command } from 'commander';
import { hashPassword } from '../../secrets/password-hash.ts';

/** Shortest status page password accepted. */
const MIN_PASSWORD_LENGTH = 8;

/** `mfp-gateway hash-password`: reads a password on stdin and prints its hash for `status.passwordHash`. */
export function hashPasswordCommand(): Command {
  return new Command('hash-password')
    .description(
      'read the status page password on stdin (never on the command line, where ps would show it) ' +
        'and print its scrypt hash for status.passwordHash',
    )
    .addHelpText('after', "\nExample:\n  printf '%s' 'the password' | mfp-gateway hash-password")
    .action(async () => {
      let input = '';
      for await (const chunk of process.stdin) input += String(chunk);
      const password = input.replace(/\r?\n$/, '');
      if (password.length < MIN_PASSWORD_LENGTH) {
        process.stderr.write(`give a password of at least ${MIN_PASSWORD_LENGTH} characters on stdin\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${await hashPassword(password)}\n`);
    });
}
