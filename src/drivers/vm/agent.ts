// The host side of the guest agent (protocol: guest-agent.ts). One request at a time per guest:
// callers may call concurrently, their requests queue. A reply that does not come in time drops
// the connection (the next request reconnects; a late reply to the old id is ignored).
import { connect, type Socket } from 'node:net';
import { randomInt } from 'node:crypto';
import { END_TAG, REPLY_TAG, REQUEST_TAG, UNDELIVERED_FLAG, type AgentOp } from './guest-agent.js';
import { execScript, readFileScript, spawnScript, writeFileScript } from './guest-scripts.js';

export interface ExecOptions {
  env?: Record<string, string>;
  input?: string | Uint8Array; // stdin; may hold secrets: never echoed in errors
  timeoutMs?: number; // the guest kills the command's process group after this (default 60 s)
  cwd?: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface SpawnOptions {
  logFile?: string; // stdout+stderr appended here (default /dev/null)
  env?: Record<string, string>;
  cwd?: string;
}

interface Reply {
  code: number;
  timedOut: boolean;
  stdout: Buffer;
  stderr: Buffer;
}

export class AgentError extends Error {}
/** The command ran past its timeout (killed in the guest), or the agent did not answer in time. */
export class AgentTimeoutError extends AgentError {}

const DEFAULT_TIMEOUT_MS = 60_000;
// time the reply may take beyond the command's own timeout: a busy TCG guest, base64 of the output
const REPLY_SLACK_MS = 15_000;

function describe(cmd: string, args: string[]): string {
  const s = [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
}

export class GuestAgent {
  private sock?: Socket;
  private chunks: Buffer[] = [];
  private waiting?: { id: number; resolve: (r: Reply) => void; reject: (e: Error) => void };
  private queue: { run: () => Promise<void>; fail: (e: Error) => void }[] = [];
  private busy = false;
  private nextId = randomInt(1, 1_000_000) * 1000; // distinct across host processes talking to one guest

  /** socketPath: the QEMU chardev (server) socket; label names the guest in errors. */
  constructor(readonly socketPath: string, readonly label = socketPath) {}

  /** Runs cmd with args (no shell) in the guest; a non-zero exit is a result, a timeout an error. */
  async exec(cmd: string, args: string[] = [], o: ExecOptions = {}): Promise<ExecResult> {
    const r = await this.execRaw(cmd, args, o);
    return { code: r.code, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
  }

  async writeFile(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
    const r = await this.request('exec', writeFileScript(path, mode), toBytes(data), DEFAULT_TIMEOUT_MS, `write ${path}`);
    if (r.code !== 0) throw new AgentError(`${this.label}: cannot write ${path}: ${r.stderr.toString().trim() || `exit ${r.code}`}`);
  }

  async readFile(path: string): Promise<Buffer> {
    const r = await this.request('exec', readFileScript(path), Buffer.alloc(0), DEFAULT_TIMEOUT_MS, `read ${path}`);
    if (r.code !== 0) throw new AgentError(`${this.label}: cannot read ${path}: ${r.stderr.toString().trim() || `exit ${r.code}`}`);
    return r.stdout;
  }

  /** Starts a daemon in its own session (it outlives the request and the agent); returns its pid. */
  async spawn(cmd: string, args: string[] = [], o: SpawnOptions = {}): Promise<number> {
    const script = spawnScript(cmd, args, o.logFile ?? '/dev/null', { env: o.env, cwd: o.cwd });
    const r = await this.request('exec', script, Buffer.alloc(0), DEFAULT_TIMEOUT_MS, `spawn ${describe(cmd, args)}`);
    const pid = Number(r.stdout.toString().trim());
    if (r.code !== 0 || !Number.isInteger(pid) || pid <= 0) {
      throw new AgentError(`${this.label}: cannot spawn ${describe(cmd, args)}: ${r.stderr.toString().trim() || `exit ${r.code}`}`);
    }
    return pid;
  }

  /** Answers once the agent runs; rejects after timeoutMs. */
  async ping(timeoutMs: number): Promise<void> {
    await this.request('ping', '', Buffer.alloc(0), 0, 'ping', timeoutMs);
  }

  /** Asks the guest to power off; the agent acknowledges first, so this returns before QEMU exits. */
  async poweroff(timeoutMs = 5_000): Promise<void> {
    await this.request('poweroff', '', Buffer.alloc(0), 0, 'poweroff', timeoutMs);
    this.close();
  }

  /** Drops the connection; a request in flight fails (queued ones go on, on a new connection). */
  close(reason = 'closed'): void {
    const w = this.waiting;
    this.waiting = undefined;
    this.sock?.destroy();
    this.sock = undefined;
    w?.reject(new AgentError(`${this.label}: agent connection ${reason}`));
  }

  /** Fails every queued request and the one in flight (a stop must not wait behind a long command). */
  abort(reason: string): void {
    for (const t of this.queue.splice(0)) t.fail(new AgentError(`${this.label}: ${reason}`));
    this.close(reason);
  }

  private async execRaw(cmd: string, args: string[], o: ExecOptions): Promise<Reply> {
    const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const what = describe(cmd, args);
    if (!(timeoutMs > 0)) throw new AgentError(`${this.label}: ${what}: timeoutMs must be positive`);
    const r = await this.request('exec', execScript(cmd, args, { env: o.env, cwd: o.cwd }), toBytes(o.input ?? ''), timeoutMs, what);
    if (r.timedOut) throw new AgentTimeoutError(`${this.label}: ${what} timed out after ${timeoutMs} ms (killed in the guest)`);
    return r;
  }

  /** Queues one request; what describes it in errors (never the stdin). */
  private request(op: AgentOp, script: string, stdin: Buffer, timeoutMs: number, what: string, replyWithinMs?: number): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const within = replyWithinMs ?? timeoutMs + REPLY_SLACK_MS;
      this.queue.push({ run: () => this.roundTrip(op, Buffer.from(script, 'utf8'), stdin, timeoutMs, what, within).then(resolve, reject), fail: reject });
      void this.pump();
    });
  }

  /** One request on the wire at a time: replies carry ids, but the guest agent is one sh loop. */
  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    for (let t = this.queue.shift(); t; t = this.queue.shift()) await t.run();
    this.busy = false;
  }

  private async roundTrip(op: AgentOp, script: Buffer, stdin: Buffer, timeoutMs: number, what: string, replyWithinMs: number): Promise<Reply> {
    const sock = await this.connected();
    const id = this.nextId++;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        this.close(); // whatever arrives for this id now is stale; the next request starts clean
        reject(new AgentTimeoutError(`${this.label}: no answer from the guest agent to ${what} within ${replyWithinMs} ms`));
      }, replyWithinMs);
      this.waiting = {
        id,
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
      const head = `${REQUEST_TAG} ${id} ${op} ${script.length} ${stdin.length} ${Math.max(0, Math.round(timeoutMs))}\n`;
      sock.write(Buffer.concat([Buffer.from(head, 'ascii'), script, stdin, Buffer.from(`${END_TAG} ${id}\n`, 'ascii')]));
    });
  }

  private connected(): Promise<Socket> {
    if (this.sock && !this.sock.destroyed) return Promise.resolve(this.sock);
    return new Promise((resolve, reject) => {
      const s = connect(this.socketPath);
      const refused = (e: NodeJS.ErrnoException) => reject(new AgentError(`${this.label}: cannot connect to the agent socket ${this.socketPath}: ${e.message}${
        e.code === 'EAGAIN' ? ' (another process is connected to this guest\'s agent: QEMU serves one client at a time)' : ''}`));
      s.once('error', refused);
      s.once('connect', () => {
        s.off('error', refused);
        s.on('error', () => undefined); // 'close' follows and says what matters
        s.on('data', (d: Buffer) => this.onData(d));
        s.on('close', () => {
          if (this.sock !== s) return; // closed by us (timeout, poweroff): nothing waits on it
          this.sock = undefined;
          const w = this.waiting;
          this.waiting = undefined;
          w?.reject(new AgentError(`${this.label}: connection to the guest agent closed (guest stopped?)`));
        });
        this.sock = s;
        this.chunks = [];
        resolve(s);
      });
    });
  }

  private onData(d: Buffer): void {
    let nl = d.indexOf(10);
    while (nl >= 0) {
      this.chunks.push(d.subarray(0, nl));
      this.onLine(Buffer.concat(this.chunks).toString('latin1'));
      this.chunks = [];
      d = d.subarray(nl + 1);
      nl = d.indexOf(10);
    }
    if (d.length) this.chunks.push(d);
  }

  private onLine(line: string): void {
    const f = line.split(' ');
    if (f[0] !== REPLY_TAG || f.length !== 6) return; // not a reply line: ignore, never guess
    const w = this.waiting;
    if (!w || Number(f[1]) !== w.id) return; // stale: a reply to a request that timed out
    this.waiting = undefined;
    const stderr = Buffer.from(f[5]!, 'base64');
    if (f[3] === UNDELIVERED_FLAG) {
      w.reject(new AgentError(`${this.label}: request not delivered to the agent: ${stderr.toString().trim()}`));
      return;
    }
    w.resolve({ code: Number(f[2]), timedOut: f[3] === 'timeout', stdout: Buffer.from(f[4]!, 'base64'), stderr });
  }
}

function toBytes(d: string | Uint8Array): Buffer {
  return typeof d === 'string' ? Buffer.from(d, 'utf8') : Buffer.from(d.buffer, d.byteOffset, d.length);
}
