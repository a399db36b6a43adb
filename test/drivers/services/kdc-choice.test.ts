// Which KDC implementation serves a realm (catalog data and the driver's kdcProducts, nothing else),
// and the krb5.conf the service layer writes for two realms and their trust.
import { describe, expect, it } from 'vitest';
import { kdcServing } from '../../../src/catalog/keys.js';
import { loadCatalog } from '../../../src/catalog/load.js';
import { capabilitiesOf } from '../../../src/drivers/capabilities.js';
import { krb5ConfText } from '../../../src/drivers/services/kerberos.js';
import { emptyServices, type Services } from '../../../src/drivers/services/placement.js';
import { Mutex } from '../../../src/drivers/services/util.js';
import { Masker } from '../../../src/render/mask.js';

const catalog = loadCatalog();
const serving = (id: string, products: readonly string[]) => kdcServing(catalog, id, products)?.id;

describe('the KDC that serves a declared release', () => {
  it('netns runs Heimdal 7.8 for Heimdal cells and MIT 1.20 for MIT ones (the catalog stand-ins)', () => {
    const netns = capabilitiesOf('netns').kdcProducts!;
    expect(serving('heimdal-0.72', netns)).toBe('heimdal-7.8');
    expect(serving('heimdal-7.8', netns)).toBe('heimdal-7.8');
    expect(serving('mit-krb5-1.4.4', netns)).toBe('mit-krb5-1.20');
    expect(serving('mit-krb5-1.20', netns)).toBe('mit-krb5-1.20');
  });

  it('qemu runs MIT only: a Heimdal cell is served by MIT 1.20', () => {
    const qemu = capabilitiesOf('qemu').kdcProducts!;
    expect(qemu).toEqual(['mit-krb5']);
    expect(serving('heimdal-0.72', qemu)).toBe('mit-krb5-1.20');
    expect(serving('mit-krb5-1.4.4', qemu)).toBe('mit-krb5-1.20');
  });
});

function services(): Services {
  const reg = emptyServices();
  reg.kdcs = {
    'service-m1': { role: 'master', realm: 'TPROA.NET', master: 'service-m1', product: 'heimdal' },
    'service-m2': { role: 'replica', realm: 'TPROA.NET', master: 'service-m1', product: 'heimdal' },
    athena: { role: 'master', realm: 'ATHENA.EXAMPLE.ORG', master: 'athena', product: 'mit-krb5' },
  };
  const ips: Record<string, string> = { 'service-m1': '10.3.0.11', 'service-m2': '10.3.0.13', athena: '10.3.0.12' };
  return {
    cell: 'tproa.net', realm: 'TPROA.NET', reg, save: () => undefined, log: () => undefined, masker: new Masker(), krbLock: new Mutex(),
    place: () => { throw new Error('no placements here'); }, has: () => true, addressOf: (g) => ips[g], guests: () => [],
  };
}

describe('the cell\'s krb5.conf', () => {
  it('lists every realm with its KDCs (master first) and the direct paths of the trusts', () => {
    const x = services();
    x.reg.trusts = [['ATHENA.EXAMPLE.ORG', 'TPROA.NET'], ['TPROA.NET', 'ATHENA.EXAMPLE.ORG']];
    expect(krb5ConfText(x)).toBe([
      '[libdefaults]', ' default_realm = TPROA.NET', ' dns_lookup_kdc = false', ' dns_lookup_realm = false',
      ' dns_canonicalize_hostname = false', ' rdns = false', ' udp_preference_limit = 1',
      '[realms]',
      ' TPROA.NET = {', '  kdc = 10.3.0.11', '  kdc = 10.3.0.13', '  admin_server = 10.3.0.11', ' }',
      ' ATHENA.EXAMPLE.ORG = {', '  kdc = 10.3.0.12', '  admin_server = 10.3.0.12', ' }',
      '[capaths]',
      ' ATHENA.EXAMPLE.ORG = {', '  TPROA.NET = .', ' }',
      ' TPROA.NET = {', '  ATHENA.EXAMPLE.ORG = .', ' }',
      '',
    ].join('\n'));
  });

  it('for one KDC\'s probe: that KDC alone, in its own realm', () => {
    const text = krb5ConfText(services(), ['athena']);
    expect(text).toContain(' ATHENA.EXAMPLE.ORG = {\n  kdc = 10.3.0.12\n');
    expect(text).not.toContain('10.3.0.11');
    expect(text).not.toContain('[capaths]');
  });
});
