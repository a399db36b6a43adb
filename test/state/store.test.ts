import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { acquireLock } from '../../src/state/lock.js';
import { writeFileAtomic } from '../../src/state/atomic.js';
import { SecretStore } from '../../src/state/secrets.js';
import { StateStore } from '../../src/state/store.js';

const dir = () => mkdtempSync(join(tmpdir(), 'cellctl-lock-'));

describe('lock', () => {
  it('lets one holder in and names it to the next', () => {
    const f = join(dir(), 'lock');
    const l = acquireLock(f, 'apply');
    expect(() => acquireLock(f, 'apply')).toThrow(new RegExp(`locked by pid ${process.pid}.*apply`));
    l.release();
    expect(existsSync(f)).toBe(false);
    acquireLock(f, 'destroy').release();
  });

  it('recovers a lock left by a dead process', () => {
    const f = join(dir(), 'lock');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    writeFileSync(f, JSON.stringify({ pid: Number(dead), host: hostname(), command: 'apply', started: 'then' }));
    const l = acquireLock(f, 'apply');
    expect(JSON.parse(readFileSync(f, 'utf8')).pid).toBe(process.pid);
    l.release();
  });
});

describe('atomic write and secrets', () => {
  it('replaces the file whole and keeps the mode', () => {
    const f = join(dir(), 'state.json');
    writeFileAtomic(f, '{"a":1}', 0o600);
    writeFileAtomic(f, '{"a":2}', 0o600);
    expect(readFileSync(f, 'utf8')).toBe('{"a":2}');
    expect(statSync(f).mode & 0o777).toBe(0o600);
  });

  it('generates secrets once, stores them 0600, honours the environment', () => {
    const f = join(dir(), 'secrets.json');
    const a = new SecretStore(f).get('kdc-master');
    expect(a.length).toBeGreaterThanOrEqual(20);
    expect(new SecretStore(f).get('kdc-master')).toBe(a);
    expect(statSync(f).mode & 0o777).toBe(0o600);
    process.env.CELLCTL_TEST_SECRET = 'from-env';
    expect(new SecretStore(f).get('other', 'CELLCTL_TEST_SECRET')).toBe('from-env');
    delete process.env.CELLCTL_TEST_SECRET;
  });
});

describe('state store', () => {
  const base = { version: 1 as const, cell: 'c', file: 'f', driver: 'sim', serial: 0, resources: { 'host.h': { type: 'host' as const, attrs: { a: '"driverData":' } as never, deps: [] } } };

  it('round-trips resources and the driver world, the world written last', () => {
    const store = new StateStore(dir(), 'c');
    const world = { domains: { x: { console: ['a,"driverData":{'] } } };
    store.write({ ...base, driverData: world });
    const text = readFileSync(store.stateFile, 'utf8');
    expect(JSON.parse(text).driverData).toEqual(world); // still one plain JSON document
    const back = store.read()!;
    expect(back.resources).toEqual(base.resources);
    expect(back.serial).toBe(1);
    expect(back.driverData).toEqual(world);
    back.driverData = { replaced: true };
    store.write(back);
    expect(store.read()!.driverData).toEqual({ replaced: true });
  });

  it('reads a state in any key order, and reports a torn file without a stack', () => {
    const store = new StateStore(dir(), 'c');
    mkdirSync(store.dir, { recursive: true });
    writeFileSync(store.stateFile, JSON.stringify({ driverData: { w: 1 }, ...base }));
    expect(store.read()!.driverData).toEqual({ w: 1 });
    writeFileSync(store.stateFile, '{"version":1,"resour');
    expect(() => store.read()).toThrow(/state\.json: the state file is damaged: it is not valid JSON/);
  });
});
