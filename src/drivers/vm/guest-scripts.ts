// The small sh scripts the host sends with each agent request. They run under the guest's busybox
// sh, which prefers its own applets to PATH ("ip" would be busybox's), so commands are looked up
// in PATH here and run by absolute path: exec('ip', ...) runs the guest's iproute2. The helpers
// (cat, mkdir, setsid...) are called by bare name: busybox applets, or the guest's own tools
// if this busybox is not a standalone shell; both take the options used here.
import { posix } from 'node:path';

/** POSIX sh single-quoting. */
export function shq(s: string): string {
  if (s.includes('\0')) throw new Error('a NUL byte cannot be passed through a shell word');
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface ScriptOptions {
  env?: Record<string, string>;
  cwd?: string;
}

function prelude(o: ScriptOptions): string[] {
  const lines: string[] = [];
  if (o.cwd) lines.push(`cd ${shq(o.cwd)} || exit 127`);
  for (const [k, v] of Object.entries(o.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`bad environment variable name ${JSON.stringify(k)}`);
    lines.push(`export ${k}=${shq(v)}`);
  }
  return lines;
}

/** Sets $p to cmd's path (PATH search unless cmd has a slash), or exits 127 like a shell would. */
function resolve(cmd: string): string[] {
  const c = shq(cmd);
  return [
    `p=; case ${c} in */*) p=${c} ;; *)`,
    `  IFS=:; for d in $PATH; do [ -n "$d" ] && [ -f "$d"/${c} ] && [ -x "$d"/${c} ] && { p="$d"/${c}; break; }; done; unset IFS ;; esac`,
    `[ -n "$p" ] || { echo ${c}': command not found' >&2; exit 127; }`,
  ];
}

/**
 * Replaces the agent's subshell with cmd in a session of its own (so the exit status and signals
 * are cmd's own, and a timeout kills everything it started that did not leave the session).
 */
export function execScript(cmd: string, args: string[], o: ScriptOptions = {}): string {
  return [...prelude(o), ...resolve(cmd), `exec setsid "$p" ${args.map(shq).join(' ')}`, ''].join('\n');
}

/** Starts cmd in a new session, outside the request's process group, and prints its pid. */
export function spawnScript(cmd: string, args: string[], logFile: string, o: ScriptOptions = {}): string {
  const log = shq(logFile);
  return [
    ...prelude(o),
    ...resolve(cmd),
    `mkdir -p ${shq(posix.dirname(logFile))} || exit 1`,
    `setsid "$p" ${args.map(shq).join(' ')} </dev/null >>${log} 2>&1 &`,
    'echo $!',
    '',
  ].join('\n');
}

/** Writes stdin to path atomically (temp file beside it, then rename) with the given mode. */
export function writeFileScript(path: string, mode: number): string {
  const p = shq(path);
  const tmp = shq(`${path}.cellctl-tmp`);
  return [
    'set -e',
    `mkdir -p ${shq(posix.dirname(path))}`,
    'umask 077',
    `cat >${tmp}`,
    `chmod ${mode.toString(8)} ${tmp}`,
    `mv -f ${tmp} ${p}`,
    '',
  ].join('\n');
}

export function readFileScript(path: string): string {
  return `exec cat ${shq(path)}\n`;
}
