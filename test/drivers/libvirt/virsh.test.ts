// The virsh session protocol: sentinels, quoting, errors, a failed connection, close.
import { describe, expect, it } from 'vitest';
import { virshAvailable, virshQuote, VirshError, VirshSession } from '../../../src/drivers/libvirt/virsh.js';
import { parseDominfo, parseDomainXml } from '../../../src/drivers/libvirt/parse.js';
import { CELLCTL_XMLNS } from '../../../src/export/libvirt.js';

const HAVE_VIRSH = await virshAvailable();
const SKIP = HAVE_VIRSH ? '' : ' [skipped: virsh (libvirt-clients) not installed]';

describe('virshQuote', () => {
  it('leaves plain words alone and quotes the rest', () => {
    expect(virshQuote('service-m1')).toBe('service-m1');
    expect(virshQuote('/tmp/a b.xml')).toBe("'/tmp/a b.xml'");
    expect(virshQuote(`it's "x"`)).toBe(`"it's \\"x\\""`);
    expect(() => virshQuote('a\nb')).toThrow(/line break/);
  });
});

describe('parsers', () => {
  it('reads dominfo, shut-off ids included', () => {
    const info = parseDominfo('Id:             -\nName:           shea\nState:          shut off\nMax memory:     131072 KiB\nUsed memory:    131072 KiB\n');
    expect(info).toEqual({ id: null, name: 'shea', state: 'shut off', maxMemKiB: 131072, usedMemKiB: 131072 });
  });
  it('reads cellctl metadata only under its own namespace', () => {
    const ours = parseDomainXml(`<domain><metadata><c:guest xmlns:c="${CELLCTL_XMLNS}" guest="g" host="kraken" cell="a&amp;b"/></metadata></domain>`);
    expect(ours.meta).toEqual({ guest: 'g', host: 'kraken', cell: 'a&b' });
    expect(parseDomainXml('<domain><metadata><c:guest xmlns:c="urn:other" host="x"/></metadata></domain>').meta).toBeNull();
  });
});

describe.skipIf(!HAVE_VIRSH)('VirshSession on test:///default' + SKIP, () => {
  it('runs commands in one connection, keeps odd arguments intact, and reports errors per command', async () => {
    const s = await VirshSession.open('test:///default');
    try {
      const odd = `it's "odd"; list --all \\ # not a comment`;
      expect(await s.run(['echo', odd])).toBe(odd);
      // Errors belong to the command that caused them, and the session carries on.
      const err = await s.run(['dominfo', 'no-such-domain']).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(VirshError);
      expect((err as VirshError).noDomain).toBe(true);
      // Commands queued together come back in order, each with its own output.
      const [a, b, c] = await Promise.all([s.run(['echo', 'one']), s.run(['domstate', 'test']), s.run(['echo', 'three'])]);
      expect([a, b, c]).toEqual(['one', 'running', 'three']);
    } finally {
      await s.close();
    }
    expect(s.alive).toBe(false);
    await expect(s.run(['echo', 'x'])).rejects.toThrow(/virsh exited/);
  });

  it('says why a connection cannot be opened', async () => {
    await expect(VirshSession.open('test:///nonexistent/node.xml')).rejects.toThrow(
      /cannot connect to libvirt at test:\/\/\/nonexistent\/node.xml: .*failed to connect to the hypervisor/,
    );
  });
});
