// xl export: the seed's two xm configs, reproduced from cells/tproa.yaml and cells/awesmoe.yaml.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/load.js';
import { exportCell, parseXlConfig, renderXl } from '../../src/export/index.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { desiredResources } from '../../src/plan/desired.js';
import type { GuestAttrs, Resource } from '../../src/plan/resources.js';
import { loadCell } from '../../src/config/load.js';

// The two configs exactly as the seed prints them (wrapped where the slides wrapped them):
// /work/shared/seed/xen-as-a-test-environment.txt, "Example 1" and "Example 2".
const SEED_SERVICE_M1 = `kernel =  
"/local/xen/service-m1.tproa.net/netbsd-XEN3_DOMU-nodiag.gz"  
memory = 256  
name = "service-m1"  
vif = [ 'mac=00:16:3e:10:11:c4, bridge=bridge3' ]  
disk = [  
'file:/local/xen/service-m1.tproa.net/wd0.img,0x01,w',  
'phy:/dev/wd2d,0x02,w', 'phy:/dev/wd3e,0x03,w',  
'phy:/dev/wd3f,0x04,w' ]  
root = "/dev/wd0d"`;

const SEED_SHEA = `kernel =  
"/local/xen/shea.awesmoe.org/vmlinuz-2.6.16-xen.tproa"  
memory = 128  
name = "shea"  
vif = [ 'mac=00:16:3e:10:11:38, bridge=bridge4' ]  
disk =  
['file:/local/xen/shea.awesmoe.org/debian.4-0.img,0x301,w']  
root = "/dev/hda1 ro"`;

const SEED_FILE = '/work/shared/seed/xen-as-a-test-environment.txt';

function resources(cell: string): Resource[] {
  const catalog = loadCatalog();
  return desiredResources(loadCell(join(PACKAGE_ROOT, 'cells', cell), catalog), catalog);
}

function guest(cell: string, name: string): GuestAttrs {
  const r = resources(cell).find((x) => x.address === `guest.${name}`);
  if (!r) throw new Error(`no guest.${name} in ${cell}`);
  return r.attrs as unknown as GuestAttrs;
}

const tmp = mkdtempSync(join(tmpdir(), 'cellctl-export-xl-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('seed configs', () => {
  it.skipIf(!existsSync(SEED_FILE))(`are quoted here exactly as the seed prints them${existsSync(SEED_FILE) ? '' : ` [skipped: ${SEED_FILE} not present]`}`, () => {
    const seed = readFileSync(SEED_FILE, 'utf8');
    expect(seed).toContain(SEED_SERVICE_M1);
    expect(seed).toContain(SEED_SHEA);
  });

  it('service-m1 from cells/tproa.yaml means what the seed config means', () => {
    const ours = parseXlConfig(renderXl('service-m1', guest('tproa.yaml', 'service-m1')));
    expect(ours).toEqual(parseXlConfig(SEED_SERVICE_M1));
  });

  it('shea from cells/awesmoe.yaml means what the seed config means', () => {
    const ours = parseXlConfig(renderXl('shea', guest('awesmoe.yaml', 'shea')));
    expect(ours).toEqual(parseXlConfig(SEED_SHEA));
  });

  it('keeps the seed order and writes one statement per setting', () => {
    const text = renderXl('service-m1', guest('tproa.yaml', 'service-m1'));
    const keys = [...text.matchAll(/^(\w+) =/gm)].map((m) => m[1]);
    expect(keys).toEqual(['kernel', 'memory', 'name', 'vif', 'disk', 'root']);
  });
});

describe('renderXl', () => {
  const base = (): GuestAttrs => guest('tproa.yaml', 'service-m1');

  it('writes maxmem and vcpus only when they differ from the defaults', () => {
    const cfg = parseXlConfig(renderXl('g', { ...base(), maxmem: 512, vcpus: 2 }));
    expect(cfg.maxmem).toBe(512);
    expect(cfg.vcpus).toBe(2);
    const plain = parseXlConfig(renderXl('g', base()));
    expect(plain).not.toHaveProperty('maxmem');
    expect(plain).not.toHaveProperty('vcpus');
  });

  it('gives hvm guests builder = "hvm" and no pv kernel or root', () => {
    const cfg = parseXlConfig(renderXl('g', { ...base(), type: 'hvm' }));
    expect(cfg.builder).toBe('hvm');
    expect(cfg).not.toHaveProperty('kernel');
    expect(cfg).not.toHaveProperty('root');
    expect(cfg.disk).toEqual(base().disks.map((d) => d.raw));
  });

  it('escapes quotes and backslashes so values read back unchanged', () => {
    const odd = "/local/xen/it's \"odd\"\\dir/wd0.img";
    const g = { ...base(), kernel_image: odd, disks: [{ ...base().disks[0], raw: `file:${odd},0x01,w` }] };
    const cfg = parseXlConfig(renderXl('g', g));
    expect(cfg.kernel).toBe(odd);
    expect(cfg.disk).toEqual([`file:${odd},0x01,w`]);
  });

  it('refuses values with line breaks rather than writing a broken config', () => {
    expect(() => renderXl('g', { ...base(), root: '/dev/wd0d\nkernel = "x"' })).toThrow(/control character/);
  });

  it('writes several vifs as a list', () => {
    const vifs = [{ mac: '00:16:3e:00:00:01', bridge: 'bridge3' }, { mac: '00:16:3e:00:00:02', bridge: 'bridge4' }];
    const cfg = parseXlConfig(renderXl('g', { ...base(), vifs }));
    expect(cfg.vif).toEqual(['mac=00:16:3e:00:00:01, bridge=bridge3', 'mac=00:16:3e:00:00:02, bridge=bridge4']);
  });
});

describe('exportCell xl', () => {
  it('writes <guest>.cfg per guest and returns the paths', () => {
    const out = join(tmp, 'tproa');
    const paths = exportCell(resources('tproa.yaml'), 'xl', out);
    expect(paths).toEqual([join(out, 'service-m1.cfg')]);
    expect(parseXlConfig(readFileSync(paths[0], 'utf8'))).toEqual(parseXlConfig(SEED_SERVICE_M1));
  });
});
