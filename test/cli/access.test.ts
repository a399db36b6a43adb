// exec, output and export --format client through the compiled CLI on the simulated cell of
// cells/tproa-full.yaml: what passes through (status, stdout, stderr), what is refused (and how it
// says so), what is secret (passwords only with --show-secrets, keytabs 0600).
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretStore } from '../../src/state/secrets.js';
import { CELLS, CLI } from '../paths.js';

const dir = mkdtempSync(join(tmpdir(), 'cellctl-cli-access-'));
const file = join(CELLS, 'tproa-full.yaml');
const cellctl = async (args: string[], input = '') => {
  const r = await execa(process.execPath, [CLI, args[0]!, '--state-dir', dir, ...args.slice(1)], { reject: false, input, env: { CI: 'true' } });
  return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
};
const secrets = () => new SecretStore(join(dir, 'tproa.net', 'secrets.json'));

beforeAll(async () => {
  statSync(CLI);
  expect((await cellctl(['apply', file, '-q'])).code).toBe(0);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cellctl exec on the sim', () => {
  it('passes the status and both streams through, and refuses what the cell refuses', async () => {
    expect(await cellctl(['exec', file, 'service-m1', '--as', 'kula', '--', 'sh', '-c', 'echo hi > /afs/.tproa.net/home/k && cat /afs/tproa.net/home/k'])).toEqual({ code: 0, out: 'hi', err: '' });
    expect(await cellctl(['exec', file, 'service-m1', '--as', 'amy', '--', 'sh', '-c', 'echo hi > /afs/.tproa.net/home/a'])).toEqual({ code: 1, out: '', err: 'sh: cannot create /afs/.tproa.net/home/a: Permission denied' });
    expect(await cellctl(['exec', file, 'service-m1', '--', 'nosuchtool'])).toEqual({ code: 127, out: '', err: 'sh: nosuchtool: not found' });
    // what a run changed is there for the next one
    expect((await cellctl(['exec', file, 'service-m1', '--as', 'amy', '--', 'cat', '/afs/tproa.net/home/k'])).out).toBe('hi');
  });

  it('kinit reads its password on stdin, and root keeps the ticket between runs', async () => {
    const pw = secrets().peek('principal:kula')!;
    expect((await cellctl(['exec', file, 'service-m1', '--', 'kinit', 'kula'], 'not-it\n')).code).toBe(1);
    expect((await cellctl(['exec', file, 'service-m1', '--', 'kinit', 'kula'], `${pw}\n`)).code).toBe(0);
    const klist = await cellctl(['exec', file, 'service-m1', '--', 'klist']);
    expect(klist.out).toMatch(/Default principal: kula@TPROA\.NET/);
    expect(`${klist.out}${klist.err}`).not.toContain(pw);
  });

  it('says what is wrong with the request: guest, principal, cell', async () => {
    expect((await cellctl(['exec', file, 'service-m2', '--', 'true'])).err).toMatch(/no guest 'service-m2' is applied in cell tproa\.net \(did you mean service-m1\?\)/);
    expect((await cellctl(['exec', file, 'service-m1', '--as', 'kulaa', '--', 'true'])).err).toMatch(/--as kulaa: no principal kulaa in cell tproa\.net \(did you mean kula\?\)/);
    expect((await cellctl(['exec', file, 'service-m1'])).err).toMatch(/missing CMD/);
    const other = mkdtempSync(join(tmpdir(), 'cellctl-cli-none-'));
    const none = await execa(process.execPath, [CLI, 'exec', '--state-dir', other, file, 'service-m1', '--', 'true'], { reject: false });
    expect(none.stderr).toMatch(/cell tproa\.net is not applied: nothing to exec in/);
    rmSync(other, { recursive: true, force: true });
  });
});

describe('cellctl output and export --format client', () => {
  it('prints the realms, KDCs and principals, the passwords only with --show-secrets', async () => {
    const all = await cellctl(['output', file, '--json']);
    const o = JSON.parse(all.out);
    expect(o.realms).toEqual({
      'TPROA.NET': { software: 'heimdal-0.72', kdcs: [{ guest: 'service-m1', ip: '10.3.0.11', role: 'master' }] },
      'ATHENA.TPROA.NET': { software: 'mit-krb5-1.4.4', kdcs: [{ guest: 'athena', ip: '10.3.0.12', role: 'master' }] },
    });
    expect(o.principals.map((p: { principal: string }) => p.principal)).toEqual(['kula@TPROA.NET', 'kula/admin@TPROA.NET', 'amy@TPROA.NET', 'bob@ATHENA.TPROA.NET']);
    for (const pw of secrets().all()) expect(all.out).not.toContain(pw);
    const shown = JSON.parse((await cellctl(['output', file, 'principals', '--json', '--show-secrets'])).out);
    expect(shown.find((p: { principal: string }) => p.principal === 'bob@ATHENA.TPROA.NET').password).toBe(secrets().peek('principal:bob@ATHENA.TPROA.NET'));
    expect((await cellctl(['output', file, 'realm'])).out).toBe('realm = TPROA.NET');
    expect((await cellctl(['output', file, 'kdc'])).err).toMatch(/no output 'kdc'/);
  });

  it('writes CellServDB, ThisCell, krb5.conf with both realms and their trust, and the keytab 0600', async () => {
    const out = join(dir, 'client');
    const r = await cellctl(['export', file, '--format', 'client', '--out', out, '--json']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).files.map((f: string) => f.slice(out.length + 1))).toEqual(['CellServDB', 'ThisCell', 'krb5.conf', 'host_service-m1.tproa.net@TPROA.NET.keytab']);
    const krb5 = readFileSync(join(out, 'krb5.conf'), 'utf8');
    expect(krb5).toMatch(/ATHENA\.TPROA\.NET = \{\n\t\tkdc = 10\.3\.0\.12\n/);
    expect(krb5).toMatch(/\[capaths\]\n\tTPROA\.NET = \{\n\t\tATHENA\.TPROA\.NET = \.\n\t\}\n\tATHENA\.TPROA\.NET = \{\n\t\tTPROA\.NET = \.\n\t\}/);
    const kt = join(out, 'host_service-m1.tproa.net@TPROA.NET.keytab');
    expect(statSync(kt).mode & 0o777).toBe(0o600);
    const bytes = readFileSync(kt);
    expect([bytes[0], bytes[1]]).toEqual([0x05, 0x02]);
    expect(bytes.includes(Buffer.from('service-m1.tproa.net'))).toBe(true);
  });
});
