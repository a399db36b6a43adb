// One writer per state dir: concurrent applies, locks held by live processes, locks left by dead ones.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateCell } from '../../bench/gen.js';
import { cellctl, ensureBuilt, readState, tempDir } from './helpers.js';

const CELL = 'lock.test';
let dir: string;
let file: string; // big enough that an apply holds the lock for a good second

beforeAll(() => {
  ensureBuilt();
  dir = tempDir('lock');
  file = join(dir, 'cell.yaml');
  writeFileSync(file, generateCell(1000, { cell: CELL }));
});

const lockFile = (stateDir: string) => join(stateDir, CELL, 'lock');

function writeLock(stateDir: string, pid: number): void {
  mkdirSync(join(stateDir, CELL), { recursive: true });
  writeFileSync(lockFile(stateDir), JSON.stringify({ pid, host: hostname(), command: 'apply', started: new Date().toISOString() }));
}

async function converged(stateDir: string): Promise<void> {
  const plan = await cellctl(['plan', file, '--state-dir', stateDir, '--detailed-exitcode']);
  expect(plan.exitCode, plan.stderr).toBe(0);
}

describe('state lock', () => {
  it('two applies at once: exactly one wins, the other exits 1 naming the holder', async () => {
    const stateDir = join(dir, 'race');
    const a = cellctl(['apply', file, '--state-dir', stateDir, '--quiet']);
    const b = cellctl(['apply', file, '--state-dir', stateDir, '--quiet']);
    const [ra, rb] = await Promise.all([a, b]);
    const codes = [ra.exitCode, rb.exitCode].sort();
    expect(codes, `a: ${ra.stderr} b: ${rb.stderr}`).toEqual([0, 1]);
    const [winner, loser] = ra.exitCode === 0 ? [a, rb] : [b, ra];
    expect(loser.stderr).toMatch(new RegExp(`locked by pid ${winner.pid}\\b`));
    expect(loser.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    expect(existsSync(lockFile(stateDir))).toBe(false);
    await converged(stateDir);
  }, 60_000);

  it('refuses a lock held by a live process, without touching the state', async () => {
    const stateDir = join(dir, 'held');
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      writeLock(stateDir, holder.pid!);
      const r = await cellctl(['apply', file, '--state-dir', stateDir, '--quiet']);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`locked by pid ${holder.pid}\\b.*apply`));
      expect(readState(stateDir, CELL)).toBeUndefined();
      expect(existsSync(lockFile(stateDir))).toBe(true); // someone else's lock is left alone
    } finally {
      holder.kill('SIGKILL');
    }
  }, 60_000);

  it('recovers a lock left by a dead process', async () => {
    const stateDir = join(dir, 'stale');
    const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());
    writeLock(stateDir, dead);
    const r = await cellctl(['apply', file, '--state-dir', stateDir, '--quiet']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(existsSync(lockFile(stateDir))).toBe(false);
    await converged(stateDir);
  }, 60_000);

  it('treats an unreadable lock as held while fresh and as stale once old', async () => {
    const stateDir = join(dir, 'torn');
    mkdirSync(join(stateDir, CELL), { recursive: true });
    writeFileSync(lockFile(stateDir), '{"pid": 12'); // a holder that died mid-write
    const fresh = await cellctl(['plan', file, '--state-dir', stateDir]); // plan takes no lock
    expect(fresh.exitCode).toBe(0);
    const refused = await cellctl(['apply', file, '--state-dir', stateDir, '--quiet']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/locked/);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockFile(stateDir), old, old);
    const r = await cellctl(['apply', file, '--state-dir', stateDir, '--quiet']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(existsSync(lockFile(stateDir))).toBe(false);
  }, 60_000);
});
