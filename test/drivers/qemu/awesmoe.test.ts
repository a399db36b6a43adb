// The seed's Example 2 on a real kernel: cells/awesmoe.yaml applied with --skip-compat on
// --driver qemu. The catalog refuses OpenAFS 1.4.2's module on Xen 3.0.2's 2.6.16-xen; the probe
// carrying its licence and imports is refused by the guest's own kernel, in the kernel's words.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { netnsPrefix } from '../../../src/drivers/netns/layout.js';
import { CELLS } from '../../paths.js';
import { cellctl, cleanUp, leftovers, qemuEnv, tempDir, title, type Run } from './env.js';

const env = await qemuEnv();
const FILE = join(CELLS, 'awesmoe.yaml');
const CELL = 'awesmoe.org';

describe.skipIf(!env.ok)(title('cells/awesmoe.yaml --skip-compat on --driver qemu: the real kernel refuses the module', env), () => {
  let work: string;
  let stateDir: string;
  let apply: Run;
  let destroyed = false;

  beforeAll(async () => {
    work = tempDir('awesmoe');
    stateDir = join(work, 'state');
    apply = await cellctl(['apply', FILE, '--driver', 'qemu', '--skip-compat', '--state-dir', stateDir, '--auto-approve']);
  }, 600_000);

  afterAll(async () => {
    if (!destroyed && existsSync(join(stateDir, CELL))) await cellctl(['destroy', FILE, '--state-dir', stateDir, '--auto-approve']);
    await cleanUp(work, stateDir, netnsPrefix(CELL, join(stateDir, CELL, 'qemu')));
  }, 120_000);

  it('without --skip-compat nothing is applied', async () => {
    const r = await cellctl(['apply', FILE, '--driver', 'qemu', '--state-dir', join(work, 'refused')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('compat error(s) block apply (nothing was changed)');
    expect(existsSync(join(work, 'refused', CELL, 'state.json'))).toBe(false);
  });

  it('fails at module.shea.openafs with the kernel\'s own Unknown symbol lines', () => {
    expect(apply.code, apply.stdout).toBe(1);
    expect(apply.stdout).toContain("Note: module.shea.openafs: the catalog refuses openafs-1.4.2-linux; the guest's real kernel judges a probe");
    expect(apply.stderr).toContain('Error: [module-gpl-only-symbol]'); // the catalog's verdict, printed first
    // The progress view shows the step's error (stdout); stderr points at it.
    expect(apply.stderr).toContain('Error: module.shea.openafs failed (its error is above).');
    const err = apply.stdout.split('\n').find((l) => l.startsWith('+ module.shea.openafs: FAILED: '));
    expect(err).toMatch(/^\+ module\.shea\.openafs: FAILED: insmod openafs: refused by the guest's kernel \S+: /);
    expect(err).toContain("openafs: module license 'http://www.openafs.org/dl/license10.html' taints kernel.");
    expect(err).toContain('openafs: Unknown symbol xen_features (err -2)');
    expect(err).toContain('openafs: Unknown symbol force_evtchn_callback (err -2)'); // not exported by 6.1 at all
    expect(apply.stdout).toMatch(/\+ guest\.shea: created/); // the guest itself came up
  });

  it('`cellctl console` shows the refusal in the guest kernel\'s log', async () => {
    const r = await cellctl(['console', FILE, 'shea', '--state-dir', stateDir]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    const mark = lines.findIndex((l) => l.includes('cellctl: insmod openafs.ko (module.shea.openafs) ...'));
    expect(mark).toBeGreaterThan(0);
    expect(lines.slice(mark).join('\n')).toMatch(/^\[\s*[\d.]+\] openafs: Unknown symbol xen_features \(err -2\)$/m);
    expect(r.stdout).toMatch(/Linux version \d/);
  });

  it('destroy (after the failed apply) leaves nothing', async () => {
    const r = await cellctl(['destroy', FILE, '--state-dir', stateDir, '--auto-approve']);
    destroyed = true;
    expect(r.code, r.stderr).toBe(0);
    expect(await leftovers(stateDir, netnsPrefix(CELL, join(stateDir, CELL, 'qemu')))).toEqual([]);
    expect(existsSync(join(stateDir, CELL))).toBe(false);
  }, 120_000);
});
