// On a terminal (a pseudo-terminal from util-linux `script`): the live view keeps each resource's
// details and its driver's lines under it, findings wrap at the terminal's width without splitting
// words, and each message is printed once.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CELLS, CLI } from '../paths.js';

const hasScript = spawnSync('sh', ['-c', 'command -v script']).status === 0;
const title = (t: string) => (hasScript ? t : `${t} — skipped: script (util-linux) is not installed`);

/** cellctl on a `cols`-wide terminal, not in CI; the output without escape sequences. */
function terminal(args: string[], cols: number): { code: number | null; out: string } {
  const env = { ...process.env };
  delete env.CI;
  const cmd = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' ');
  const r = spawnSync('script', ['-qec', `stty cols ${cols} rows 60; ${cmd}`, '/dev/null'], { env, encoding: 'utf8', input: '' });
  return { code: r.status, out: r.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '') };
}

describe.skipIf(!hasScript)('on a terminal', () => {
  it(title('the live view keeps every resource\'s outputs and driver lines under it; a no-op apply says "No changes" once'), () => {
    const sd = ['--state-dir', mkdtempSync(join(tmpdir(), 'cellctl-tty-'))];
    const r = terminal(['apply', join(CELLS, 'tproa.yaml'), ...sd], 100);
    expect(r.code).toBe(0);
    const final = r.out.slice(r.out.lastIndexOf('✔ + host.kraken'));
    expect(final).toMatch(/✔ \+ guest\.service-m1\n {2}› Started domain service-m1 \(id 1\) on kraken\n {2}› domid=1, host=kraken, state=running, memory=256\n/);
    expect(final).toMatch(/✔ \+ kdc\.service-m1\n {2}› pid=100, role=master/);
    expect(final).toMatch(/✔ \+ afs-client\.service-m1\n {2}› pid=105, module=arla-0\.43-nnpfs\nApply complete!/);
    expect(final.match(/^✔ /gm)).toHaveLength(15);
    const again = terminal(['apply', join(CELLS, 'tproa.yaml'), ...sd], 100);
    expect(again.out.match(/No changes/g)).toHaveLength(1);
  });

  it(title('smoke: the checks are printed between the apply list and the teardown list'), () => {
    const r = terminal(['smoke', join(CELLS, 'tproa.yaml')], 100);
    expect(r.code).toBe(0);
    const applied = r.out.lastIndexOf('✔ + afs-client.service-m1');
    const checks = r.out.lastIndexOf('PASS  guest service-m1 is running');
    const teardown = r.out.lastIndexOf('✔ - host.kraken');
    expect(applied).toBeGreaterThan(0);
    expect(checks).toBeGreaterThan(applied);
    expect(teardown).toBeGreaterThan(checks);
  });

  it(title('findings wrap at the terminal width, words whole; a failed step is not repeated in full'), () => {
    const sd = ['--state-dir', mkdtempSync(join(tmpdir(), 'cellctl-tty-'))];
    const plan = terminal(['plan', join(CELLS, 'awesmoe.yaml'), ...sd], 80);
    const finding = plan.out.slice(plan.out.indexOf('Error: [module-gpl-only-symbol]'));
    for (const line of finding.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(finding).toContain('force_evtchn_callback');
    expect(finding).toMatch(/\n {4}\S/); // continuation lines hang under the finding
    const apply = terminal(['apply', join(CELLS, 'awesmoe.yaml'), ...sd, '--skip-compat'], 100);
    expect(apply.code).toBe(1);
    expect(apply.out).toContain('Error: module.shea.openafs failed (its error is above).');
    expect(apply.out.slice(apply.out.lastIndexOf('✔ + host.kraken')).match(/Unknown symbol force_evtchn_callback/g)).toHaveLength(1);
  });
});
