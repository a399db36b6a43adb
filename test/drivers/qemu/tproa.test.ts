// The seed's Example 1 (cells/tproa.yaml) as a smoke on --driver qemu: the guest boots the stand-in
// kernel, loads openafs.ko in place of Arla's nnpfs, mounts /vicepa, runs the kernel AFS client;
// the checks that need AFS servers say why they skip; JUnit written; nothing left afterwards.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { CELLS } from '../../paths.js';
import { cellctl, qemuEnv, removeDir, tempDir, title } from './env.js';

const env = await qemuEnv({ openafs: true });
// other processes on the machine may run smokes too: look only at new throwaway dirs holding this cell
const smokeDirs = () => readdirSync(tmpdir()).filter((f) => f.startsWith('cellctl-smoke-')).sort();
const leftBehind = (before: string[]) => smokeDirs().filter((d) => !before.includes(d) && existsSync(join(tmpdir(), d, 'tproa.net')));

describe.skipIf(!env.ok)(title('cellctl smoke cells/tproa.yaml --driver qemu', env), () => {
  let work: string;
  afterAll(() => removeDir(work));

  it('passes: guest running, client module loaded; server checks skipped with the reason; torn down', async () => {
    work = tempDir('tproa');
    const before = smokeDirs();
    const junit = join(work, 'out.xml');
    const r = await cellctl(['smoke', join(CELLS, 'tproa.yaml'), '--driver', 'qemu', '--junit', junit], 600_000 + env.buildMs);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/^PASS {2}guest service-m1 is running$/m);
    expect(r.stdout).toMatch(/^PASS {2}AFS client module loaded on service-m1$/m);
    expect(r.stdout).toMatch(/realized_as=OpenAFS 1\.8\.9's openafs\.ko .* in place of arla-0\.43-nnpfs/);
    expect(r.stdout).toMatch(/^- host\.kraken: destroyed$/m);
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toContain('guest service-m1 is running');
    expect(xml).toMatch(/<skipped/);
    expect(leftBehind(before)).toEqual([]); // the throwaway state dir is gone
  }, 900_000 + env.buildMs);
});
