// One long-lived interactive `virsh -c URI` per connection URI. libvirt's test driver
// (test:///default) keeps its domains only as long as the connection, so every command of
// a cellctl run must go through the same virsh process.
//
// Protocol: for each command we write
//     echo <begin>\n<command>\necho <end>\n
// and take the lines between the two sentinel lines as the command's output. virsh runs
// with stderr joined to stdout (2>&1 in the same pipe), so an "error: ..." line always
// arrives before the end sentinel of the command that caused it. In interactive mode
// virsh echoes each command after its prompt ("virsh # ..."); those lines are dropped.
import { randomBytes } from 'node:crypto';
import { execa, type ResultPromise } from 'execa';
import { UserError } from '../../diagnostics.js';

const PROMPT = /^virsh [#>] /;
const OPEN_TIMEOUT_MS = 60_000; // xen+ssh:// may take a while to set up the ssh tunnel
const COMMAND_TIMEOUT_MS = 120_000;

export class VirshError extends Error {
  constructor(readonly uri: string, readonly command: string, readonly errors: string[]) {
    super(`virsh -c ${uri} ${command}: ${errors.join('; ') || 'failed'}`);
    this.name = 'VirshError';
  }
  /** libvirt's "failed to get domain 'x'": the domain does not exist on this connection. */
  get noDomain(): boolean {
    return this.errors.some((e) => /failed to get domain|Domain not found/i.test(e));
  }
  get notRunning(): boolean {
    return this.errors.some((e) => /domain is not running/i.test(e));
  }
}

/** Quote one argument for virsh's own command-line parser (not a shell). */
export function virshQuote(arg: string): string {
  if (/[\n\r\0]/.test(arg)) throw new Error(`virsh argument ${JSON.stringify(arg)} contains a line break`);
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  if (!arg.includes("'")) return `'${arg}'`;
  return `"${arg.replace(/[\\"]/g, (c) => '\\' + c)}"`;
}

/**
 * Run one virsh command in a process of its own, stdin closed. Used for `migrate`: virsh's
 * migration job watcher sometimes never returns after a fast failure (measured with
 * libvirt 9.0: 2-5 hangs in 10 runs, interactive or not), so it must not run inside the
 * long-lived session, where a hang would take the connection down with it.
 */
export async function virshOnce(uri: string, args: string[], timeoutMs: number): Promise<{ ok: boolean; errors: string[]; timedOut: boolean; out: string }> {
  const r = await execa('virsh', ['-c', uri, ...args], {
    stdin: 'ignore', reject: false, timeout: timeoutMs, all: true, env: { LC_ALL: 'C', LANG: 'C' },
  });
  const lines = (r.all ?? '').split('\n').filter((l) => l.trim());
  const errors = lines.filter((l) => l.startsWith('error: ')).map((l) => l.slice('error: '.length));
  return { ok: r.exitCode === 0, errors: errors.length ? errors : lines, timedOut: r.timedOut, out: String(r.stdout ?? '') };
}

/** Whether a usable virsh is installed (tests skip, the driver explains, when it is not). */
export async function virshAvailable(): Promise<boolean> {
  const r = await execa('virsh', ['--version'], { reject: false, timeout: 10_000 });
  return r.exitCode === 0;
}

interface Pending {
  command: string;
  begin: string;
  end: string;
  started: boolean;
  lines: string[];
  resolve: (out: string) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class VirshSession {
  private proc: ResultPromise;
  private buf = '';
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private seq = 0;
  private readonly nonce = randomBytes(4).toString('hex');
  private exited: string | undefined; // why the process is gone, once it is
  private stray: string[] = []; // lines outside any command: connection errors before exit

  private constructor(readonly uri: string) {
    // LC_ALL=C: messages and states ("running", "shut off") are parsed; TERM=dumb: no escapes.
    this.proc = execa('sh', ['-c', 'exec virsh -c "$1" 2>&1', 'virsh', uri], {
      stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', buffer: false, reject: false,
      env: { TERM: 'dumb', LC_ALL: 'C', LANG: 'C' },
    });
    this.proc.stdout!.setEncoding('utf8');
    this.proc.stdout!.on('data', (chunk: string) => this.onData(chunk));
    this.proc.stdin!.on('error', () => {}); // EPIPE after virsh exits is reported via 'exit'
    void this.proc.then((r) => this.onExit(`virsh exited with code ${r.exitCode ?? r.signal}`));
  }

  /** Start virsh on `uri` and make sure the connection works (virsh exits if it cannot connect). */
  static async open(uri: string): Promise<VirshSession> {
    const s = new VirshSession(uri);
    try {
      await s.run(['uri'], OPEN_TIMEOUT_MS);
    } catch (e) {
      await s.close();
      const why = e instanceof VirshError ? e.errors.join('; ') : (e as Error).message;
      throw new UserError(`cannot connect to libvirt at ${uri}: ${why}`);
    }
    return s;
  }

  get alive(): boolean {
    return this.exited === undefined;
  }

  /** Run one virsh command; resolves with its output, rejects with VirshError on "error:" lines. */
  run(args: string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<string> {
    let command: string;
    try {
      command = args.map(virshQuote).join(' ');
    } catch (e) {
      return Promise.reject(e);
    }
    const next = this.queue.then(() => this.exec(command, timeoutMs));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private exec(command: string, timeoutMs: number): Promise<string> {
    if (this.exited) return Promise.reject(new VirshError(this.uri, command, [this.exited, ...this.stray]));
    const n = ++this.seq;
    const begin = `---cellctl-${this.nonce}-${n}-begin---`;
    const end = `---cellctl-${this.nonce}-${n}-end---`;
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        // The protocol is out of step once a command hangs: end this virsh, later commands fail.
        this.pending = undefined;
        reject(new VirshError(this.uri, command, [`no answer within ${timeoutMs / 1000} s`]));
        this.proc.kill();
      }, timeoutMs);
      this.pending = { command, begin, end, started: false, lines: [], resolve, reject, timer };
      this.proc.stdin!.write(`echo ${begin}\n${command}\necho ${end}\n`);
    });
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).replace(/\r/g, '');
      this.buf = this.buf.slice(nl + 1);
      this.onLine(line);
    }
  }

  private onLine(line: string): void {
    if (process.env.CELLCTL_VIRSH_TRACE) process.stderr.write(`[virsh ${this.uri}] ${line}\n`); // protocol debugging
    const p = this.pending;
    if (!p?.started) {
      if (p && line === p.begin) {
        p.started = true;
        this.stray = []; // the banner and anything before: not this command's business
      } else if (line.trim() && !PROMPT.test(line)) this.stray = [...this.stray.slice(-20), line];
      return;
    }
    if (line !== p.end) {
      if (!PROMPT.test(line)) p.lines.push(line);
      return;
    }
    clearTimeout(p.timer);
    this.pending = undefined;
    const errors = p.lines.filter((l) => l.startsWith('error: ')).map((l) => l.slice('error: '.length));
    if (errors.length > 0) p.reject(new VirshError(this.uri, p.command, errors));
    else p.resolve(p.lines.join('\n').replace(/^\n+|\s+$/g, ''));
  }

  private onExit(why: string): void {
    this.exited ??= why;
    const p = this.pending;
    if (p) {
      clearTimeout(p.timer);
      this.pending = undefined;
      const seen = [...this.stray, ...p.lines, this.buf].filter((l) => l.trim());
      p.reject(new VirshError(this.uri, p.command, seen.length ? seen.map((l) => l.replace(/^error: /, '')) : [why]));
    }
  }

  /** Quit virsh (ending the connection, and with it test:///default's world). */
  async close(): Promise<void> {
    if (this.alive) {
      this.proc.stdin!.end('quit\n');
      const done = await Promise.race([
        this.proc.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 5_000).unref()),
      ]);
      if (!done) this.proc.kill(); // only our own child, by its handle
    }
    await this.proc;
  }
}
