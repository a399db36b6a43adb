// state.json and secrets.json carry their length and checksum: a truncated, torn, edited or
// wrong-shaped file is refused naming the file and what to do, never misread and never overwritten;
// secrets never appear in the refusal; modes wider than 0600/0700 are corrected and said.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seal, unseal } from '../../src/state/sealed.js';
import { SecretStore, scrubbedEnv } from '../../src/state/secrets.js';
import { StateStore } from '../../src/state/store.js';
import type { CellState } from '../../src/state/types.js';

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});
const dir = () => {
  const d = mkdtempSync(join(tmpdir(), 'cellctl-integrity-'));
  made.push(d);
  return d;
};

function bigState(): CellState {
  const resources: CellState['resources'] = {};
  for (let i = 0; i < 50; i++) resources[`guest.g${i}`] = { type: 'guest', attrs: { host: 'h', memory: 64 } as never, deps: ['host.h'] };
  return { version: 1, cell: 'c', file: '/cells/c.yaml', driver: 'sim', serial: 0, resources, driverData: { domains: { g0: { console: ['x'.repeat(4000)] } } } };
}

describe('sealed files', () => {
  it('round-trips, and the sealed text is still one JSON object', () => {
    for (const body of ['{}', '{"a":1}', JSON.stringify({ s: 'ünïcødé "quoted"', n: [1, 2] })]) {
      const text = seal(body);
      expect(JSON.parse(text).integrity.length).toBe(Buffer.byteLength(body));
      expect(unseal(text + '\n')).toEqual({ body, sealed: true });
    }
    expect(unseal('{"a":1}')).toEqual({ body: '{"a":1}', sealed: false }); // written by an older cellctl
  });

  it('refuses every truncation and any edit', () => {
    const text = seal(JSON.stringify({ a: 'x'.repeat(200), b: [1, 2, 3] }));
    for (let n = 1; n < text.length; n += 7) expect(() => unseal(text.slice(0, n)), `cut at ${n}`).toThrow();
    expect(() => unseal(text.replace('"b":[1,2,3]', '"b":[1,2,4]'))).toThrow(/checksum does not match/);
  });
});

describe('state.json', () => {
  it('a state truncated to 45-99% of its length is refused naming the file, and left as it is', () => {
    const store = new StateStore(dir(), 'c');
    store.write(bigState());
    const whole = readFileSync(store.stateFile, 'utf8');
    for (const pct of [45, 50, 60, 75, 90, 95, 99]) {
      const cut = whole.slice(0, Math.floor((whole.length * pct) / 100));
      writeFileSync(store.stateFile, cut);
      expect(() => store.read(), `${pct}%`).toThrow(new RegExp(`${store.stateFile.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: the state file is damaged: it is truncated`));
      expect(readFileSync(store.stateFile, 'utf8')).toBe(cut);
    }
  });

  it('says what to do', () => {
    const store = new StateStore(dir(), 'c');
    store.write(bigState());
    writeFileSync(store.stateFile, readFileSync(store.stateFile, 'utf8').slice(0, 300));
    expect(() => store.read()).toThrow(/move it aside \(mv .*state\.json .*state\.json\.damaged\).*cellctl destroy --force/);
  });

  it('refuses a wrong-shaped state (valid JSON) naming what is wrong', () => {
    const store = new StateStore(dir(), 'c');
    mkdirSync(store.dir, { recursive: true });
    const cases: [unknown, RegExp][] = [
      [[], /not a JSON object/],
      [{ version: 2, cell: 'c', file: 'f', driver: 'sim', serial: 1, resources: {} }, /format version 2/],
      [{ version: 1, cell: 'other', file: 'f', driver: 'sim', serial: 1, resources: {} }, /state of cell "other"/],
      [{ version: 1, cell: 'c', file: 'f', driver: 'sim', serial: 1, resources: [] }, /"resources" is not an object/],
      [{ version: 1, cell: 'c', file: 'f', driver: 'sim', serial: 1, resources: { 'guest.x': { type: 'guest', attrs: {} } } }, /resource guest\.x is not a resource record/],
      [{ version: 1, cell: 'c', file: 'f', driver: 'sim', serial: 1, resources: { 'x.y': { type: 'nonsense', attrs: {}, deps: [] } } }, /resource x\.y/],
      [{ version: 1, cell: 'c', file: 'f', driver: 'sim', serial: 1, resources: {}, pending: { a: { action: 'explode' } } }, /pending step a/],
    ];
    for (const [data, why] of cases) {
      writeFileSync(store.stateFile, Array.isArray(data) ? JSON.stringify(data) : seal(JSON.stringify(data)));
      expect(() => store.read()).toThrow(why);
    }
  });

  it('keeps the cell directory 0700 and the file 0600, correcting and saying a wider mode', () => {
    const store = new StateStore(dir(), 'c');
    const said: string[] = [];
    store.warn = (l) => said.push(l);
    store.write(bigState());
    expect(statSync(store.dir).mode & 0o777).toBe(0o700);
    expect(said).toEqual([]);
    chmodSync(store.dir, 0o755);
    chmodSync(store.stateFile, 0o644);
    store.read();
    expect(statSync(store.dir).mode & 0o777).toBe(0o700);
    expect(statSync(store.stateFile).mode & 0o777).toBe(0o600);
    expect(said.join('\n')).toMatch(/had mode 0755; set to 0700[\s\S]*had mode 0644; set to 0600/);
  });
});

describe('secrets.json', () => {
  const secret = 'Sup3r-Secret-Value-7781';

  it('a damaged secrets file is refused naming it, without a word of its content', () => {
    const d = dir();
    const f = join(d, 'secrets.json');
    const broken = [
      `{"kdc-master": "${secret}", "principal:kula": `, // truncated, unsealed
      `{"kdc-master": "${secret}" oops}`, // JSON.parse would quote this
      seal(JSON.stringify({ 'kdc-master': secret, x: 'y' })).replace('"y"', '"z"'), // edited
      seal(JSON.stringify({ 'kdc-master': secret })).slice(0, -10), // truncated, sealed
      seal(JSON.stringify({ 'kdc-master': 42 })), // wrong shape
    ];
    for (const text of broken) {
      writeFileSync(f, text, { mode: 0o600 });
      let message = '';
      try {
        new SecretStore(f);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message, text).toMatch(new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: the secrets file is damaged`));
      expect(message).not.toContain(secret.slice(0, 8));
      expect(message).toMatch(/left as it is/);
      expect(readFileSync(f, 'utf8')).toBe(text); // never overwritten
    }
  });

  it('a 0644 secrets file is set to 0600 and said', () => {
    const f = join(dir(), 'secrets.json');
    new SecretStore(f).get('kdc-master');
    chmodSync(f, 0o644);
    const said: string[] = [];
    new SecretStore(f, (l) => said.push(l));
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(said).toEqual([`${f}: the secrets file had mode 0644; set to 0600 (it may hold passwords or keys)`]);
  });

  it('reads a secrets file written by an older cellctl (unsealed), and seals it at the next write', () => {
    const f = join(dir(), 'secrets.json');
    writeFileSync(f, JSON.stringify({ 'kdc-master': secret }, null, 2), { mode: 0o600 });
    const s = new SecretStore(f);
    expect(s.get('kdc-master')).toBe(secret);
    s.get('principal:kula');
    expect(JSON.parse(readFileSync(f, 'utf8')).integrity).toBeDefined();
  });

  it('passwords in the environment are not passed on to what cellctl runs', () => {
    const env = { PATH: '/bin', CELLCTL_PW_KULA: 'a', CELLCTL_PW_KULA_ADMIN: 'b', CELLCTL_KDC_MASTER_PASSWORD: 'c', CELLCTL_STATE_DIR: '/s' };
    expect(scrubbedEnv(env)).toEqual({ PATH: '/bin', CELLCTL_STATE_DIR: '/s' });
  });
});
