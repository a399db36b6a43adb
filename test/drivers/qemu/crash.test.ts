// Write-ahead: a cellctl killed (SIGKILL) while its guest boots leaves nothing destroy cannot find.
// The guest was recorded before QEMU started; destroy finds the running QEMU from its directory,
// stops it, and removes taps, namespace and files.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { netnsPrefix } from '../../../src/drivers/netns/layout.js';
import { CLI } from '../../paths.js';
import { cellctl, cleanUp, leftovers, qemuEnv, tempDir, title } from './env.js';

const env = await qemuEnv();
const CELL = 'crash.test';

describe.skipIf(!env.ok)(title('--driver qemu: apply killed while a guest boots, then destroy', env), () => {
  let work: string;
  afterAll(() => cleanUp(work, work && join(work, 'state'), netnsPrefix(CELL, join(work ?? '', 'state', CELL, 'qemu'))));

  it('destroy stops the orphaned QEMU and leaves no process, namespace, tap, mount or file', async () => {
    work = tempDir('crash');
    const file = join(work, 'crash.yaml');
    writeFileSync(file, `cell: ${CELL}
hosts:
  h: { os: netbsd-4.0_beta, xen: 3.0.3, memory: 512, dom0_memory: 128, cpus: 1, bridges: [br0] }
guests:
  g: { host: h, os: debian-etch, kernel: linux-2.6.16.29-xen-3.0.3, memory: 128, vifs: [{ mac: "00:16:3e:77:02:01", bridge: br0, ip: 10.78.0.1 }] }
`);
    const stateDir = join(work, 'state');
    const prefix = netnsPrefix(CELL, join(stateDir, CELL, 'qemu'));
    const child = execa(process.execPath, [CLI, 'apply', file, '--driver', 'qemu', '--state-dir', stateDir, '--auto-approve'], { reject: false, env: { CI: '1' } });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (/guest g: QEMU pid \d+/.test(out)) resolve(); // QEMU runs; the agent is not up yet
      });
      void child.then(() => reject(new Error(`apply ended before QEMU started:\n${out}`)));
    });
    child.kill('SIGKILL');
    await child;
    const orphans = await leftovers(stateDir, prefix);
    expect(orphans.some((l) => l.startsWith('qemu pid '))).toBe(true);
    expect(orphans.some((l) => l.startsWith('namespace '))).toBe(true);

    const d = await cellctl(['destroy', file, '--state-dir', stateDir, '--auto-approve']);
    expect(d.code, `${d.stdout}\n${d.stderr}`).toBe(0);
    expect(d.stdout).toContain('guest.g: cleaned up after an interrupted create');
    expect(await leftovers(stateDir, prefix)).toEqual([]);
    expect(existsSync(join(stateDir, CELL))).toBe(false);
  }, 300_000);
});
