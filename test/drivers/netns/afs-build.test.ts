// Your own OpenAFS build on --driver netns, for real: a tiny install tree made by copying Debian's
// programs, each with its version string rewritten to a marker of the same length, so what answers
// can only be the tree's copy. tproa-3db.yaml is applied with Debian's OpenAFS, then with the tree:
// a rolling upgrade (one db server at a time, back in the quorum before the next); then the servers'
// processes run from the tree and rxdebug -version and bos status say so. Smoke on the tree is green.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAfsTree } from '../../../src/config/afs-tree.js';
import { netnsCleanup, netnsPrerequisites } from '../../../src/drivers/netns/index.js';
import { netnsPrefix } from '../../../src/drivers/netns/layout.js';
import { CELLS, CLI } from '../../paths.js';

const pre = netnsPrerequisites();
const debian = readAfsTree('/'); // Debian's programs, where the packages put them
const token = /OpenAFS (\S+) /.exec(debian.version ?? '')?.[1] ?? '';
const marker = 'byo-cellctl-test-build-marker'.padEnd(token.length, 'x').slice(0, token.length);

/** Copies each program to the same place under `root`, its version token replaced by the marker (same length: offsets unchanged). */
function makeTree(root: string): void {
  for (const path of Object.values(debian.programs)) {
    const to = join(root, path);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(path, to);
    const bytes = readFileSync(to);
    const from = Buffer.from(token);
    for (let i = bytes.indexOf(from); i >= 0; i = bytes.indexOf(from, i + 1)) bytes.write(marker, i, 'latin1');
    writeFileSync(to, bytes, { mode: 0o755 });
  }
}

describe.skipIf(!pre.ok || !token)(`netns: your own OpenAFS build, and a rolling upgrade to it${pre.ok ? '' : ` (skipped: ${pre.reason})`}`, () => {
  const work = mkdtempSync(join(tmpdir(), 'cellctl-byo-'));
  const tree = join(work, 'openafs-dest');
  const file = join(work, 'tproa-3db.yaml');
  const root = join(work, 'state');
  const base = readFileSync(join(CELLS, 'tproa-3db.yaml'), 'utf8');
  const withTree = base.replace(/^afs:/m, `software:\n  openafs: { prefix: ${tree} }\n\nafs:`);
  const version = `OpenAFS ${marker} `;
  const cellctl = (args: string[]) => execa('node', [CLI, ...args], { reject: false, env: { ...process.env, CI: '1' }, timeout: 600_000 });
  const guestFile = (guest: string, p: string) => join(root, 'tproa.net', 'netns', 'netns', 'guests', guest, 'root', p);
  const exeOf = (guest: string, pidfile: string) => readlinkSync(`/proc/${readFileSync(guestFile(guest, `/var/lib/openafs/local/${pidfile}`), 'utf8').trim()}/exe`);

  beforeAll(() => {
    makeTree(tree);
    writeFileSync(file, base);
  });
  afterAll(async () => {
    await netnsCleanup(netnsPrefix('tproa.net', join(root, 'tproa.net', 'netns')));
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  it('the copied tree reports the marker, not Debian\'s version', () => {
    expect(readAfsTree(tree).version).toMatch(new RegExp(`^${version}`));
    expect(debian.version).not.toContain(marker);
  });

  it('applies the 3-db cell with Debian\'s OpenAFS', async () => {
    const r = await cellctl(['apply', file, '--driver', 'netns', '--state-dir', root, '--auto-approve']);
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(exeOf('service-m2', 'ptserver.pid')).toBe('/usr/lib/openafs/ptserver');
  }, 600_000);

  it('plans the tree as a rolling upgrade, one db server after the other, and says whose OpenAFS runs', async () => {
    writeFileSync(file, withTree);
    const r = await cellctl(['plan', file, '--state-dir', root]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const out = String(r.stdout);
    expect(out).toMatch(/afs-db\.service-m1 will be updated in place \(rolling upgrade 1\/3: first/);
    expect(out).toMatch(/afs-db\.service-m3 will be updated in place \(rolling upgrade 3\/3: after afs-db\.service-m2 is back in the quorum/);
    expect(out.indexOf('~ afs-db.service-m1')).toBeLessThan(out.indexOf('~ afs-db.service-m2'));
    expect(out).toContain(`openafs-1.4.2 is served by your OpenAFS build: ${version}`);
    expect(out).toMatch(/Plan: 0 to add, 5 to change, 0 to destroy/);
  }, 120_000);

  it('restarts each db server from the tree only after the one before is back in the quorum, running the tree\'s version', async () => {
    const r = await cellctl(['apply', file, '--driver', 'netns', '--state-dir', root, '--auto-approve']);
    const out = String(r.stdout);
    expect(r.exitCode, `${out}\n${r.stderr}`).toBe(0);
    const at = (s: string) => {
      const i = out.indexOf(s);
      expect(i, s).toBeGreaterThanOrEqual(0);
      return i;
    };
    const steps = ['service-m1', 'service-m2', 'service-m3'].flatMap((g) => [at(`${g}: stopping bosserver`), at(`${g}: restarted from ${version}`)]);
    expect(steps).toEqual([...steps].sort((a, b) => a - b)); // stop m1, m1 back, stop m2, m2 back, stop m3, m3 back
    expect(out).toMatch(new RegExp(`service-m2: restarted from .*; sync site 10\\.3\\.0\\.1[123]; rxdebug -version: ${version}`));
    for (const g of ['service-m1', 'service-m2', 'service-m3']) {
      for (const pid of ['bosserver.pid', 'ptserver.pid', 'vlserver.pid']) expect(exeOf(g, pid).startsWith(`${tree}/`), `${g} ${pid}`).toBe(true);
    }
    expect(exeOf('files-1', 'dafs.file.pid')).toBe(join(tree, '/usr/lib/openafs/dafileserver'));
  }, 900_000);

  it('bos status and rxdebug -version in the guest show the tree\'s servers; status says so', async () => {
    const ex = await cellctl(['exec', file, 'service-m2', '--state-dir', root, '--', 'sh', '-c', 'bos status 10.3.0.12 -localauth -long; rxdebug 10.3.0.12 7003 -version']);
    expect(ex.exitCode, String(ex.stderr)).toBe(0);
    expect(ex.stdout).toContain(`Command 1 is '${tree}/usr/lib/openafs/vlserver'`);
    expect(ex.stdout).toMatch(new RegExp(`AFS version: ${version}`));
    const st = await cellctl(['status', file, '--state-dir', root]);
    expect(st.stdout).toMatch(new RegExp(`afs-db\\.service-m3 .* from ${tree}, rxdebug -version: ${version}`));
    expect(st.stdout).toMatch(new RegExp(`afs-fs\\.files-1 .*rxdebug -version: ${version}`));
  }, 120_000);

  it('destroys the cell; smoke on the tree is green', async () => {
    const d = await cellctl(['destroy', file, '--state-dir', root, '--auto-approve']);
    expect(d.exitCode, String(d.stderr)).toBe(0);
    const one = join(work, 'tproa.yaml');
    writeFileSync(one, readFileSync(join(CELLS, 'tproa.yaml'), 'utf8').replace(/^afs:/m, `software:\n  openafs: { prefix: ${tree} }\n\nafs:`));
    const r = await cellctl(['smoke', one, '--driver', 'netns', '--json', '--state-dir', join(work, 'smoke')]);
    const report = JSON.parse(String(r.stdout)) as { summary: { failed: number; passed: number }; checks: { id: string; status: string; message: string }[] };
    expect(report.summary.failed, JSON.stringify(report.checks.filter((c) => c.status === 'fail'))).toBe(0);
    expect(report.summary.passed).toBeGreaterThan(5);
    expect(r.exitCode).toBe(0);
  }, 600_000);
});
