// exec: a command inside a guest; its exit status is cellctl's.
import { execIn } from '../../ops/exec.js';
import { openSession, type Command } from '../command.js';

export const execCmd: Command = async (args, flags) => {
  const [file, guest, ...argv] = args;
  // The command's own output is the result: no progress lines from the driver.
  const s = openSession(file!, { ...flags, quiet: true });
  return execIn(s, guest!, argv, {
    ...(flags.as !== undefined ? { as: flags.as } : {}), stdin: process.stdin, stdout: process.stdout, stderr: process.stderr,
  });
};
