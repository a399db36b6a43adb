// The sim's shell behind `cellctl exec`: a small, honest command interpreter over the simulated
// world. It runs one command (argv), or a command line given to `sh -c` with ;, && and ||, quotes
// and > / >> redirections into /afs. Unknown commands say so (exit 127), as sh does.
import type { KrbEnv } from '../kerberos.js';
import { own, type SimShell, type World } from '../world.js';
import type { Cmd, Ctx } from './context.js';
import { ptsCmd, vosCmd } from './db-tools.js';
import { catCmd, fsCmd, lsCmd, mkdirCmd, rmCmd, writeFile } from './fs-tools.js';
import { aklogCmd, kdestroyCmd, kinitCmd, klistCmd, login, tokensCmd, unlogCmd } from './krb.js';

const COMMANDS: Record<string, Cmd> = {
  kinit: kinitCmd, klist: klistCmd, kdestroy: kdestroyCmd, aklog: aklogCmd, tokens: tokensCmd, unlog: unlogCmd,
  pts: ptsCmd, vos: vosCmd, fs: fsCmd, ls: lsCmd, cat: catCmd, mkdir: mkdirCmd, rm: rmCmd,
  echo: (c, args) => say(c, args.join(' ')),
  hostname: (c) => say(c, `${c.guest}.${c.cell}`),
  true: () => 0,
  false: () => 1,
  env: (c) => say(c, ['PATH=/usr/bin:/bin:/usr/sbin:/sbin:/usr/afsws/bin', 'KRB5_CONFIG=/etc/krb5.conf', 'KRB5CCNAME=FILE:/tmp/krb5cc_0', 'HOME=/root'].join('\n')),
};

function say(c: Ctx, text: string): number {
  c.out(text);
  return 0;
}

/** The shell's words: quotes ('...', "..." with \\ escapes) and the operators ; && || > >>. */
export function words(line: string): { ok: true; tokens: string[] } | { ok: false; error: string } {
  const tokens: string[] = [];
  let cur: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (/\s/.test(ch)) {
      if (cur !== null) tokens.push(cur);
      cur = null;
    } else if (ch === "'" || ch === '"') {
      const end = line.indexOf(ch, i + 1);
      if (end < 0) return { ok: false, error: `sh: Syntax error: Unterminated quoted string` };
      const body = line.slice(i + 1, end);
      cur = (cur ?? '') + (ch === '"' ? body.replace(/\\(["\\$`])/g, '$1') : body);
      i = end;
    } else if (ch === '\\' && i + 1 < line.length) {
      cur = (cur ?? '') + line[++i];
    } else if (ch === ';' || ch === '>' || ch === '&' || ch === '|') {
      if (cur !== null) tokens.push(cur);
      cur = null;
      const two = line.slice(i, i + 2);
      if (two === '&&' || two === '||' || two === '>>') {
        tokens.push(`\0${two}`);
        i++;
      } else if (ch === '&' || ch === '|') return { ok: false, error: `sh: ${ch}: background jobs and pipes are not simulated` };
      else tokens.push(`\0${ch}`);
    } else cur = (cur ?? '') + ch;
  }
  if (cur !== null) tokens.push(cur);
  return { ok: true, tokens };
}

/** What a command line wrote, in order: 1 stdout, 2 stderr. */
interface Run { out: { push(text: string): void }; err: { push(text: string): void } }

/** One simple command with its redirections; output captured so > can store it. */
function simple(c: Ctx, tokens: string[], io: Run): number {
  const argv: string[] = [];
  let target: { path: string; append: boolean } | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === '\0>' || t === '\0>>') {
      const path = tokens[++i];
      if (path === undefined || path.startsWith('\0')) {
        io.err.push('sh: Syntax error: newline unexpected');
        return 2;
      }
      target = { path, append: t === '\0>>' };
    } else argv.push(t);
  }
  if (!argv.length) return 0;
  const [name, ...args] = argv as [string, ...string[]];
  const cmd = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  const captured: string[] = [];
  const ctx: Ctx = { ...c, out: (t) => (target ? captured : io.out).push(`${t}\n`), err: (t) => io.err.push(`${t}\n`) };
  if (!cmd) {
    io.err.push(`sh: ${name}: not found\n`);
    return 127;
  }
  const status = cmd(ctx, args);
  if (!target) return status;
  const stored = writeFile(ctx, target.path, captured.join(''), target.append);
  return stored !== 0 ? stored : status;
}

/** A command line: simple commands joined by ; && ||. */
function line(c: Ctx, tokens: string[], io: Run): number {
  let status = 0;
  let skip = false;
  let start = 0;
  for (let i = 0; i <= tokens.length; i++) {
    const t = tokens[i];
    if (t !== undefined && t !== '\0;' && t !== '\0&&' && t !== '\0||') continue;
    if (!skip) status = simple(c, tokens.slice(start, i), io);
    skip = (t === '\0&&' && status !== 0) || (t === '\0||' && status === 0);
    start = i + 1;
  }
  return status;
}

/**
 * Does the command line read stdin (kinit's password, cat with no file)? Only then is it read: an open
 * stdin nobody writes to (a script's) must not hold a command that does not need it.
 */
export function readsStdin(argv: string[]): boolean {
  const parsed = argv[0] === 'sh' && argv[1] === '-c' && argv[2] !== undefined ? words(argv[2]) : { ok: true as const, tokens: argv };
  if (!parsed.ok) return false;
  const commands: string[][] = [[]];
  for (const t of parsed.tokens) {
    if (t === '\0;' || t === '\0&&' || t === '\0||') commands.push([]);
    else commands[commands.length - 1]!.push(t);
  }
  return commands.some((c) => {
    const args = c.filter((t, i) => !t.startsWith('\0') && !c[i - 1]?.startsWith('\0'));
    return (args[0] === 'kinit' && !args.includes('-k')) || (args[0] === 'cat' && args.length === 1);
  });
}

export interface ShellResult { status: number; output: { fd: 1 | 2; text: string }[] }

/**
 * Runs argv on a guest. `as`: log in first in a fresh ticket cache and PAG (kinit + aklog), which go
 * away afterwards; else root's shell on the guest, whose ticket cache and token stay in the world.
 */
export function runShell(w: World, env: KrbEnv, o: { guest: string; cell: string; argv: string[]; stdin: string; as?: { principal: string; password: string } }): ShellResult {
  const output: ShellResult['output'] = [];
  const io: Run = { out: { push: (text) => output.push({ fd: 1, text }) }, err: { push: (text) => output.push({ fd: 2, text }) } };
  const shell: SimShell = o.as ? { ccache: null, token: null } : (own(w.shells, o.guest) ?? (w.shells[o.guest] = { ccache: null, token: null }));
  const c: Ctx = {
    w, env, guest: o.guest, cell: o.cell, shell, stdin: o.stdin,
    out: (t) => io.out.push(`${t}\n`), err: (t) => io.err.push(`${t}\n`),
  };
  const done = (status: number): ShellResult => ({ status, output });
  if (o.as) {
    if (login(c, o.as.principal, o.as.password) !== 0 || (own(w.clients, o.guest) && COMMANDS.aklog!(c, []) !== 0)) return done(1);
  }
  const [name, ...rest] = o.argv;
  if (name === 'sh' && rest[0] === '-c' && rest[1] !== undefined) {
    const parsed = words(rest[1]);
    if (!parsed.ok) {
      io.err.push(`${parsed.error}\n`);
      return done(2);
    }
    return done(line(c, parsed.tokens, io));
  }
  if (name === 'sh' || name === 'bash') {
    io.err.push(`${name}: interactive shells are not simulated: give a command, or sh -c 'COMMAND LINE'\n`);
    return done(2);
  }
  return done(simple(c, o.argv, io));
}
