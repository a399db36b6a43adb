// The per-request scripts, run here on the host the way the guest agent runs them: sourced in a
// busybox sh subshell with stdin/stdout/stderr as files. No VM needed.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { execScript, readFileScript, shq, spawnScript, writeFileScript } from '../../../src/drivers/vm/guest-scripts.js';

function haveBusybox(): boolean {
  try {
    execaSync('busybox', ['true']);
    return true;
  } catch {
    return false;
  }
}
const BB = haveBusybox();
const work = mkdtempSync(join(tmpdir(), 'vmkit-scripts-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Sources script in a busybox sh subshell, as the agent's run() does. */
async function runScript(script: string, input: string | Buffer = '', env: Record<string, string> = {}) {
  const f = join(work, `s${Math.random().toString(36).slice(2)}`);
  writeFileSync(f, script);
  const r = await execa('busybox', ['sh', '-c', `( . '${f}' )`], { input, reject: false, env, encoding: 'buffer', stripFinalNewline: false });
  return { code: r.exitCode, stdout: Buffer.from(r.stdout), stderr: Buffer.from(r.stderr).toString() };
}

describe('shell quoting', () => {
  it('quotes quotes and refuses NUL', () => {
    expect(shq("it's")).toBe(`'it'\\''s'`);
    expect(() => shq('a\0b')).toThrow(/NUL/);
  });
});

describe.skipIf(!BB)(`agent request scripts under busybox sh${BB ? '' : ' (skipped: no busybox)'}`, () => {
  it('passes awkward arguments through unchanged', async () => {
    const args = ['', ' two  spaces ', "quote'd", '"dq"', '$HOME `x` $(id)', 'new\nline', '*', 'ünï'];
    const r = await runScript(execScript('printf', ['%s\\0', ...args]));
    expect(r.code).toBe(0);
    expect(r.stdout.toString('utf8').split('\0').slice(0, -1)).toEqual(args);
  });

  it("runs the PATH's program, not busybox's applet of the same name", async () => {
    const r = await runScript(execScript('ip', ['-V']));
    expect(r.stdout.toString() + r.stderr).toMatch(/iproute2/);
  });

  it('sets env and cwd, and reports a missing command as 127', async () => {
    const r = await runScript(execScript('sh', ['-c', 'echo "$GREETING $(pwd)"'], { env: { GREETING: "hi 'there'" }, cwd: work }));
    expect(r.stdout.toString()).toBe(`hi 'there' ${work}\n`);
    const missing = await runScript(execScript('no-such-command-vmkit', []));
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/no-such-command-vmkit: command not found/);
    expect(() => execScript('true', [], { env: { 'BAD-NAME': 'x' } })).toThrow(/bad environment variable name/);
  });

  it('runs the command as a session leader, with its own exit status', async () => {
    const r = await runScript(execScript('sh', ['-c', 'read -r _ _ _ _ _ sid _ </proc/$$/stat; [ "$sid" = $$ ] && exit 7']));
    expect(r.code).toBe(7);
  });

  it('writes binary stdin atomically with the mode, creating the directory, and reads it back', async () => {
    const data = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256));
    const path = join(work, 'new dir', "file 'x'");
    const w = await runScript(writeFileScript(path, 0o640), data);
    expect(w.code).toBe(0);
    expect(readFileSync(path).equals(data)).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o640);
    const r = await runScript(readFileScript(path));
    expect(r.stdout.equals(data)).toBe(true);
    const bad = await runScript(readFileScript(join(work, 'absent')));
    expect(bad.code).not.toBe(0);
  });

  it('spawns a daemon in its own session and prints its pid', async () => {
    const log = join(work, 'logs', 'd.log');
    const r = await runScript(spawnScript('sh', ['-c', 'echo started; exec sleep 30'], log));
    const pid = Number(r.stdout.toString().trim());
    expect(pid).toBeGreaterThan(1);
    try {
      const session = () => {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]); // field 6 of stat
      };
      // the pid is printed right after fork; setsid runs in the child a moment later
      for (let i = 0; i < 100 && (session() !== pid || !existsSync(log) || !readFileSync(log, 'utf8').includes('started')); i++) {
        await new Promise((res) => setTimeout(res, 20));
      }
      expect(session()).toBe(pid);
      expect(readFileSync(log, 'utf8')).toContain('started');
    } finally {
      process.kill(pid, 'SIGKILL');
    }
  });
});
