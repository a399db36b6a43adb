// The host agent client against a scripted fake agent on a unix socket: framing, one request on
// the wire at a time, stale replies, timeouts and reconnection, secrets kept out of errors.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AgentError, AgentTimeoutError, GuestAgent } from '../../../src/drivers/vm/agent.js';

interface Req {
  id: string;
  op: string;
  script: Buffer;
  stdin: Buffer;
  timeoutMs: number;
  sock: Socket;
}
type Handler = (r: Req, reply: (code: number, out?: string | Buffer, err?: string, flag?: string, id?: string) => void) => void;

const work = mkdtempSync(join(tmpdir(), 'vmkit-agent-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let servers: Server[] = [];
afterEach(() => {
  servers.forEach((s) => s.close());
  servers = [];
});

/** A fake guest agent speaking the wire protocol; counts connections and requests in flight. */
function fakeAgent(handle: Handler) {
  const path = join(work, `a${servers.length}-${Date.now()}.sock`);
  const stats = { connections: 0, maxInFlight: 0, inFlight: 0, requests: [] as Req[] };
  const server = createServer((sock) => {
    stats.connections++;
    let buf = Buffer.alloc(0);
    sock.on('error', () => undefined);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const nl = buf.indexOf(10);
        if (nl < 0) return;
        const [tag, id, op, n1, n2, tmo] = buf.subarray(0, nl).toString().split(' ');
        expect(tag).toBe('CELLCTL-Q');
        const a = nl + 1;
        const b = a + Number(n1);
        const c = b + Number(n2);
        const endNl = buf.indexOf(10, c);
        if (endNl < 0) return;
        expect(buf.subarray(c, endNl).toString()).toBe(`CELLCTL-E ${id}`);
        const req = { id: id!, op: op!, script: buf.subarray(a, b), stdin: buf.subarray(b, c), timeoutMs: Number(tmo), sock };
        buf = buf.subarray(endNl + 1);
        stats.requests.push(req);
        stats.maxInFlight = Math.max(stats.maxInFlight, ++stats.inFlight);
        handle(req, (code, out = '', err = '', flag = '-', replyId = req.id) => {
          stats.inFlight--;
          const b64 = (x: string | Buffer) => Buffer.from(x).toString('base64');
          sock.write(`CELLCTL-R ${replyId} ${code} ${flag} ${b64(out)} ${b64(err)}\n`);
        });
      }
    });
  });
  server.listen(path);
  servers.push(server);
  return { agent: new GuestAgent(path, 'guest fake'), stats };
}

describe('guest agent client', () => {
  it('queues concurrent calls: one request on the wire at a time, each gets its own answer', async () => {
    const { agent, stats } = fakeAgent((r, reply) => {
      const n = /exec setsid "\$p" '(\d+)'/.exec(r.script.toString())?.[1] ?? '?';
      setTimeout(() => reply(0, `out${n}`, `err${n}`), 10 + Math.random() * 30);
    });
    const results = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => agent.exec('echo', [String(i)])));
    expect(results.map((r) => r.stdout)).toEqual(['out0', 'out1', 'out2', 'out3', 'out4', 'out5']);
    expect(results.map((r) => r.stderr)).toEqual(['err0', 'err1', 'err2', 'err3', 'err4', 'err5']);
    expect(stats.maxInFlight).toBe(1);
    expect(stats.connections).toBe(1);
    agent.close();
  });

  it('sends stdin raw and takes binary stdout back intact', async () => {
    const bin = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 256));
    const { agent, stats } = fakeAgent((r, reply) => reply(0, r.script.toString().startsWith('exec cat ') ? bin : r.stdin));
    await agent.writeFile('/x', bin, 0o600);
    expect(stats.requests[0]!.stdin.equals(bin)).toBe(true);
    expect(stats.requests[0]!.script.toString()).toMatch(/chmod 600 /);
    expect((await agent.readFile('/x')).equals(bin)).toBe(true);
    expect((await agent.exec('cat', [], { input: 'héllo\n' })).stdout).toBe('héllo\n');
    agent.close();
  });

  it('ignores replies to other ids (left over from a request that timed out)', async () => {
    const { agent } = fakeAgent((r, reply) => {
      reply(9, 'stale', '', '-', '12345');
      reply(0, 'fresh');
    });
    expect((await agent.exec('true')).stdout).toBe('fresh');
    agent.close();
  });

  it('a guest-side timeout is an error naming the command but never its stdin; the next call works', async () => {
    const { agent } = fakeAgent((r, reply) => (r.op === 'exec' && r.timeoutMs === 500 ? reply(137, '', '', 'timeout') : reply(0, 'ok')));
    const err = await agent.exec('kinit', ['admin'], { input: 'hunter2-secret', timeoutMs: 500 }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(AgentTimeoutError);
    expect(String(err)).toMatch(/kinit admin timed out after 500 ms/);
    expect(String(err)).not.toContain('hunter2');
    expect((await agent.exec('true')).stdout).toBe('ok');
    agent.close();
  });

  it('an unanswered request times out, drops the connection, and the next call reconnects', async () => {
    let first = true;
    const { agent, stats } = fakeAgent((r, reply) => {
      if (first) first = false; // swallow it
      else reply(0);
    });
    await expect(agent.ping(300)).rejects.toThrow(/no answer from the guest agent to ping within 300 ms/);
    await agent.ping(2000);
    expect(stats.connections).toBe(2);
    agent.close();
  });

  it('a connection closed by the guest fails the request in flight; abort fails the queue too', async () => {
    const { agent } = fakeAgent((r) => r.sock.destroy());
    await expect(agent.exec('true')).rejects.toThrow(/connection to the guest agent closed/);
    const { agent: slow } = fakeAgent(() => undefined);
    const calls = [slow.exec('a'), slow.exec('b'), slow.exec('c')].map((p) => p.catch((e: Error) => e));
    await new Promise((r) => setTimeout(r, 50));
    slow.abort('guest stopping');
    for (const e of await Promise.all(calls)) {
      expect(e).toBeInstanceOf(AgentError);
      expect(String(e)).toMatch(/guest stopping/);
    }
  });

  it('refuses a timeout that is not positive', async () => {
    await expect(new GuestAgent(join(work, 'none.sock'), 'guest x').exec('true', [], { timeoutMs: 0 })).rejects.toThrow(/timeoutMs must be positive/);
  });

  it('reports an absent socket as a connection error', async () => {
    await expect(new GuestAgent(join(work, 'none.sock'), 'guest x').ping(500)).rejects.toThrow(/guest x: cannot connect/);
  });
});
