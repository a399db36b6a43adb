// The netns driver's process layer, without root: what every command and daemon it starts is given.
import { describe, expect, it } from 'vitest';
import { ubikTransient } from '../../../src/drivers/services/afs-servers.js';
import { Runner } from '../../../src/drivers/netns/exec.js';
import { Masker } from '../../../src/render/mask.js';

describe('netns commands', () => {
  it('get no password from the environment (CELLCTL_PW_*, CELLCTL_KDC_MASTER_PASSWORD)', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, { CELLCTL_PW_KULA: 'pw-one', CELLCTL_KDC_MASTER_PASSWORD: 'pw-two', CELLCTL_SOMETHING: 'kept' });
    try {
      const r = await new Runner(new Masker()).run('env', [], { env: { GIVEN: 'yes' } });
      expect(r.code).toBe(0);
      const names = r.stdout.split('\n').map((l) => l.split('=')[0]);
      expect(names).not.toContain('CELLCTL_PW_KULA');
      expect(names).not.toContain('CELLCTL_KDC_MASTER_PASSWORD');
      expect(names).toEqual(expect.arrayContaining(['CELLCTL_SOMETHING', 'GIVEN', 'PATH']));
    } finally {
      for (const k of ['CELLCTL_PW_KULA', 'CELLCTL_KDC_MASTER_PASSWORD', 'CELLCTL_SOMETHING']) if (!(k in saved)) delete process.env[k];
    }
  });

  it('retry pts and vos answers that pass: no quorum yet, and a ptserver that just restarted', () => {
    expect(ubikTransient('pts: no quorum elected ; unable to delete kula')).toBe(true);
    expect(ubikTransient('pts: invalid RPC (RX) operation ; unable to delete kula')).toBe(true);
    expect(ubikTransient("pts: User or group doesn't exist")).toBe(false);
  });
});
