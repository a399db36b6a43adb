// The yes/no question before a plan that destroys or replaces, terraform's way: only `yes` goes on.
import { createInterface } from 'node:readline';
import { UserError } from '../diagnostics.js';
import type { Plan } from '../plan/types.js';
import type { Flags } from './spec.js';

export interface Confirmer {
  confirm(plan: Plan, why: string): Promise<boolean>;
  /** Ctrl-C at the question. */
  interrupted: boolean;
}

function ask(question: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
    let answered = false;
    rl.on('SIGINT', () => {
      process.stdout.write('\n');
      rl.close();
    });
    rl.on('close', () => {
      if (!answered) resolve(undefined);
    });
    rl.question(question, (a) => {
      answered = true;
      rl.close();
      resolve(a);
    });
  });
}

export function confirmer(flags: Flags, verb: 'apply' | 'destroy'): Confirmer {
  const c: Confirmer = {
    interrupted: false,
    async confirm(plan, why) {
      if (flags['auto-approve']) return true;
      if (flags.json || !process.stdin.isTTY) {
        throw new UserError([{
          message: `refusing to ${verb} without a yes: the plan ${why}, and ${flags.json ? 'with --json cellctl cannot ask' : 'stdin is not a terminal to ask on'}; nothing was changed`,
          hint: 're-run with --auto-approve to approve it',
        }]);
      }
      const n = plan.changes.length;
      const head = verb === 'destroy'
        ? ['Do you really want to destroy these resources?', `  cellctl will destroy the ${n} resource${n === 1 ? '' : 's'} shown above.`, "  There is no undo. Only 'yes' will be accepted to confirm."]
        : ['Do you want to perform these actions?', `  cellctl will perform the actions shown above: the plan ${why}.`, "  Only 'yes' will be accepted to approve."];
      const answer = await ask(`\n${head.join('\n')}\n\n  Enter a value: `);
      if (answer === undefined) c.interrupted = true;
      return answer?.trim() === 'yes';
    },
  };
  return c;
}
