// What a command of the sim's shell gets: the world, the guest it runs on, root's shell there (its
// ticket cache and its PAG's token), what it read on stdin, and where it writes.
import type { KrbEnv } from '../kerberos.js';
import { own, type SimShell, type World } from '../world.js';

export interface Ctx {
  w: World;
  env: KrbEnv;
  guest: string;
  cell: string;
  shell: SimShell;
  stdin: string;
  out(text: string): void; // a line (or more): a newline is added
  err(text: string): void;
}

/** A command: its words after the name; returns the exit status. */
export type Cmd = (c: Ctx, args: string[]) => number;

/** The guest runs an AFS server or client, so the OpenAFS (or Arla) tools are installed there. */
export function hasAfsTools(c: Ctx): boolean {
  return Boolean(own(c.w.afsdbs, c.guest) ?? own(c.w.fileservers, c.guest) ?? own(c.w.clients, c.guest));
}

/** The guest runs an AFS server: -localauth (the server's KeyFile) works there. */
export function isServer(c: Ctx): boolean {
  return Boolean(own(c.w.afsdbs, c.guest) ?? own(c.w.fileservers, c.guest));
}

/** The principal whose token the shell's PAG holds, if the client still has it. */
export function tokenPrincipal(c: Ctx): string | null {
  const p = c.shell.token;
  return p && own(c.w.clients, c.guest)?.tokens[p] ? p : null;
}

/** Options as the AFS tools' cmd parser takes them: -name value, abbreviations allowed, positionals in order. */
export function afsArgs(args: string[], known: Record<string, 'flag' | 'value' | 'multi'>, positional: string[]):
  { ok: true; o: Record<string, string | string[] | true> } | { ok: false; error: string } {
  const o: Record<string, string | string[] | true> = {};
  const names = Object.keys(known);
  let pos = 0;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('-') && a.length > 1) {
      const hits = names.filter((n) => n === a.slice(1) || n.startsWith(a.slice(1)));
      const name = hits.includes(a.slice(1)) ? a.slice(1) : hits.length === 1 ? hits[0] : undefined;
      if (!name) return { ok: false, error: hits.length ? `ambiguous switch ${a}` : `unrecognized switch ${a}` };
      if (known[name] === 'flag') o[name] = true;
      else if (known[name] === 'multi') {
        const vals: string[] = [];
        while (i + 1 < args.length && !args[i + 1]!.startsWith('-')) vals.push(args[++i]!);
        o[name] = [...((o[name] as string[] | undefined) ?? []), ...vals];
      } else {
        if (i + 1 >= args.length) return { ok: false, error: `missing value for ${a}` };
        o[name] = args[++i]!;
      }
      continue;
    }
    // Positionals fill the switches in order; a list switch takes the rest only when it is the last one (fs sa DIR ACL...).
    const name = positional[pos++];
    if (!name) return { ok: false, error: `too many arguments (${a})` };
    if (known[name] === 'multi') o[name] = [...((o[name] as string[] | undefined) ?? []), a];
    else o[name] = a;
    if (known[name] === 'multi' && pos === positional.length) pos--;
  }
  return { ok: true, o };
}
