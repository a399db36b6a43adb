// Terraform habits through the compiled CLI on the simulated hypervisor: a yes before destroying or
// replacing, saved plans refused when stale, --target with dependencies, graph, state list/show.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { topoOrder } from '../../src/plan/dag.js';
import { CELLS, CLI } from '../paths.js';

async function cellctl(args: string[]) {
  const r = await execa(process.execPath, [CLI, ...args], { reject: false, env: { CI: 'true' } });
  return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
}

function scratch(cell = 'tproa.yaml') {
  const dir = mkdtempSync(join(tmpdir(), 'cellctl-tf-'));
  const file = join(dir, cell);
  copyFileSync(join(CELLS, cell), file);
  return { dir, file, sd: ['--state-dir', join(dir, 'state')] };
}

const hasScript = spawnSync('sh', ['-c', 'command -v script']).status === 0;

/** Runs cellctl on a pseudo-terminal (util-linux script) and types `answer` when it asks. */
function onTerminal(args: string[], answer: string): Promise<{ code: number | null; out: string }> {
  const cmd = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' ');
  const p = spawn('script', ['-qec', `stty cols 100; ${cmd}`, '/dev/null'], { env: { ...process.env, CI: 'true' } });
  let out = '';
  let asked = false;
  p.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (!asked && out.includes('Enter a value:')) {
      asked = true;
      p.stdin.write(`${answer}\n`);
    }
  });
  return new Promise((resolve) => p.on('close', (code) => resolve({ code, out: out.replace(/\r/g, '') })));
}

describe('confirmation', () => {
  it.skipIf(!hasScript)(`destroy asks; only yes goes on${hasScript ? '' : ' — skipped: script (util-linux) is not installed'}`, async () => {
    const t = scratch();
    expect((await cellctl(['apply', t.file, ...t.sd, '-q'])).code).toBe(0);
    const no = await onTerminal(['destroy', t.file, ...t.sd], 'no');
    expect(no.out).toContain('Do you really want to destroy these resources?');
    expect(no.out).toContain('cellctl will destroy the 15 resources shown above.');
    expect(no.out).toContain('Destroy cancelled.');
    expect(no.code).toBe(1);
    expect((await cellctl(['state', 'list', t.file, ...t.sd])).out.split('\n')).toHaveLength(15); // nothing changed
    const yes = await onTerminal(['destroy', t.file, ...t.sd], 'yes');
    expect(yes.out).toContain('Destroy complete! Resources: 0 added, 0 changed, 15 destroyed.');
    expect(yes.code).toBe(0);
  });

  it.skipIf(!hasScript)(`a plan that replaces asks: changing the Kerberos software replaces the KDC and what depends on it${hasScript ? '' : ' — skipped: script (util-linux) is not installed'}`, async () => {
    const t = scratch();
    expect((await cellctl(['apply', t.file, ...t.sd, '-q'])).code).toBe(0);
    writeFileSync(t.file, readFileSync(t.file, 'utf8').replace('software: heimdal-0.72', 'software: mit-krb5-1.4.4'));
    const plan = JSON.parse((await cellctl(['plan', t.file, ...t.sd, '--json'])).out);
    const replaced = plan.resource_changes.filter((c: any) => c.change.actions.join() === 'delete,create').map((c: any) => c.address);
    expect(replaced).toEqual(expect.arrayContaining(['kdc.service-m1', 'principal.kula', 'service-key.afs/tproa.net']));
    const piped = await cellctl(['apply', t.file, ...t.sd]);
    expect(piped.code).toBe(1);
    expect(piped.err).toMatch(/refusing to apply without a yes: the plan replaces \d+ resources, and stdin is not a terminal to ask on; nothing was changed \(re-run with --auto-approve to approve it\)/);
    const yes = await onTerminal(['apply', t.file, ...t.sd], 'yes');
    expect(yes.out).toMatch(/cellctl will perform the actions shown above: the plan replaces \d+ resources\./);
    expect(yes.out).toMatch(/Apply complete! Resources: \d+ added, 0 changed, \d+ destroyed\./);
    expect(yes.code).toBe(0);
    expect((await cellctl(['plan', t.file, ...t.sd, '--detailed-exitcode'])).code).toBe(0);
  });

  it('creating and updating need no yes; --auto-approve and --json', async () => {
    const t = scratch();
    expect((await cellctl(['apply', t.file, ...t.sd, '-q'])).code).toBe(0);
    const json = await cellctl(['destroy', t.file, ...t.sd, '--json']);
    expect(json.code).toBe(1);
    const last = JSON.parse(json.out.trim().split('\n').at(-1)!);
    expect(last).toMatchObject({ type: 'diagnostic', '@level': 'error', diagnostic: { summary: expect.stringContaining('with --json cellctl cannot ask') } });
    expect((await cellctl(['destroy', t.file, ...t.sd, '--auto-approve', '-q'])).code).toBe(0);
  });
});

describe('saved plans', () => {
  it('apply PLANFILE does exactly the plan; refused once the state or the cell file moved', async () => {
    const t = scratch();
    const planFile = join(t.dir, 'tproa.plan');
    const plan = await cellctl(['plan', t.file, ...t.sd, '--out', planFile]);
    expect(plan.code).toBe(0);
    expect(plan.out).toContain(`cellctl apply ${planFile}`);
    const applied = await cellctl(['apply', planFile]);
    expect(applied.code).toBe(0);
    expect(applied.out).toContain('Apply complete! Resources: 15 added, 0 changed, 0 destroyed.');
    // The same plan again: the state it was made against is gone.
    const stale = await cellctl(['apply', planFile]);
    expect(stale.code).toBe(1);
    expect(stale.err).toMatch(/the state changed since the plan was saved \(then no state, now serial \d+, lineage [0-9a-f]{8}\): it is stale/);
    // A plan against the current state, then the state moves (a targeted destroy).
    writeFileSync(t.file, readFileSync(t.file, 'utf8').replace('    memory: 256', '    memory: 200\n    maxmem: 256'));
    expect((await cellctl(['plan', t.file, ...t.sd, '--out', planFile])).code).toBe(0);
    expect((await cellctl(['destroy', t.file, ...t.sd, '--target', 'volume.root.cell', '--auto-approve', '-q'])).code).toBe(0);
    expect((await cellctl(['apply', planFile])).err).toContain('it is stale');
    // A plan, then the cell file changes.
    expect((await cellctl(['plan', t.file, ...t.sd, '--out', planFile])).code).toBe(0);
    writeFileSync(t.file, readFileSync(t.file, 'utf8') + '\n');
    const edited = await cellctl(['apply', planFile]);
    expect(edited.err).toContain(`${t.file} changed since the plan was saved`);
    expect((await cellctl(['apply', planFile, '--target', 'guest.service-m1'])).err).toContain('--target cannot change a saved plan');
    expect((await cellctl(['apply', planFile, '--state-dir', join(t.dir, 'elsewhere')])).err).toContain('--state-dir cannot change a saved plan');
    expect((await cellctl(['apply', planFile, ...t.sd])).err).not.toContain('cannot change a saved plan'); // the same dir is fine
  });

  it('a cell compat refuses gets no plan file', async () => {
    const t = scratch('awesmoe.yaml');
    const planFile = join(t.dir, 'x.plan');
    const r = await cellctl(['plan', t.file, ...t.sd, '--out', planFile]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`no plan was saved to ${planFile}`);
    expect(existsSync(planFile)).toBe(false);
  });
});

describe('--target', () => {
  it('applies a resource and what it needs, says so, and destroys a target with what depends on it', async () => {
    const t = scratch();
    const plan = await cellctl(['plan', t.file, ...t.sd, '--target', 'volume.root.cell']);
    expect(plan.out).toContain('Warning: resource targeting is in effect (--target volume.root.cell)');
    expect(plan.out).toMatch(/Plan: 8 to add, 0 to change, 0 to destroy\./);
    const apply = await cellctl(['apply', t.file, ...t.sd, '--target', 'volume.root.cell']);
    expect(apply.code).toBe(0);
    const list = (await cellctl(['state', 'list', t.file, ...t.sd])).out.split('\n');
    expect(list).toEqual(['host.kraken', 'guest.service-m1', 'kdc.service-m1', 'service-key.afs/tproa.net', 'afs-db.service-m1', 'afs-fs.service-m1', 'partition.service-m1./vicepa', 'volume.root.cell']);
    const destroy = await cellctl(['destroy', t.file, ...t.sd, '--target', 'afs-db.service-m1', '--auto-approve']);
    expect(destroy.out).toContain('Destroy complete! Resources: 0 added, 0 changed, 4 destroyed.');
    expect((await cellctl(['state', 'list', t.file, ...t.sd])).out.split('\n')).toEqual(['host.kraken', 'guest.service-m1', 'kdc.service-m1', 'service-key.afs/tproa.net']);
    const typo = await cellctl(['plan', t.file, ...t.sd, '--target', 'volume.root.cel']);
    expect(typo.err).toBe('Error: --target volume.root.cel: no such resource in cell tproa.net (did you mean volume.root.cell?)');
  });
});

describe('graph', () => {
  const dot = (text: string) => {
    const nodes = [...text.matchAll(/^ {2}"([^"]+)" \[label/gm)].map((m) => m[1]);
    const edges = [...text.matchAll(/^ {2}"([^"]+)" -> "([^"]+)";$/gm)].map((m) => ({ from: m[1], to: m[2] }));
    return { nodes, edges };
  };

  it('--type plan: every resource and its dependencies, an acyclic DOT digraph', async () => {
    const t = scratch();
    const r = await cellctl(['graph', t.file, ...t.sd]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^digraph "tproa\.net" \{\n[\s\S]*\n\}$/);
    const g = dot(r.out);
    expect(g.nodes).toHaveLength(15);
    expect(g.edges).toContainEqual({ from: 'guest.service-m1', to: 'host.kraken' });
    for (const e of g.edges) expect(g.nodes).toEqual(expect.arrayContaining([e.from, e.to]));
    expect(topoOrder(g.nodes.map((a) => ({ address: a, deps: g.edges.filter((e) => e.from === a).map((e) => e.to) })))).toHaveLength(15);
  });

  it('--type apply: the steps of the plan, a replacement destroyed before it is created', async () => {
    const t = scratch();
    expect((await cellctl(['apply', t.file, ...t.sd, '-q'])).code).toBe(0);
    writeFileSync(t.file, readFileSync(t.file, 'utf8').replace('    memory: 256', '    memory: 256\n    vcpus: 2'));
    const g = dot((await cellctl(['graph', t.file, ...t.sd, '--type', 'apply'])).out);
    expect(g.nodes).toEqual(expect.arrayContaining(['delete:guest.service-m1', 'create:guest.service-m1', 'delete:module.service-m1.nnpfs']));
    expect(g.edges).toContainEqual({ from: 'create:guest.service-m1', to: 'delete:guest.service-m1' });
    expect(g.edges).toContainEqual({ from: 'delete:guest.service-m1', to: 'delete:module.service-m1.nnpfs' });
  });
});

describe('state', () => {
  it('lists and shows what is recorded; a typo gets a suggestion', async () => {
    const t = scratch();
    expect((await cellctl(['state', 'list', t.file, ...t.sd])).err).toContain('has no state');
    expect((await cellctl(['apply', t.file, ...t.sd, '-q'])).code).toBe(0);
    expect((await cellctl(['state', 'list', t.file, ...t.sd, 'volume'])).out).toBe('volume.root.afs\nvolume.root.cell');
    const show = await cellctl(['state', 'show', t.file, ...t.sd, 'principal.kula']);
    expect(show.out).toMatch(/^# principal\.kula:\nresource "principal" "kula" \{\n/);
    expect(show.out).toContain('password = (sensitive value, kept in secrets.json)');
    expect(show.out).toContain('# depends on: kdc.service-m1');
    const json = JSON.parse((await cellctl(['state', 'show', t.file, ...t.sd, 'guest.service-m1', '--json'])).out);
    expect(json).toMatchObject({ address: 'guest.service-m1', type: 'guest', attributes: { memory: 256 }, outputs: { domid: 1 }, dependencies: ['host.kraken'] });
    expect((await cellctl(['state', 'show', t.file, ...t.sd, 'guest.service-m2'])).err).toContain('(did you mean guest.service-m1?)');
  });
});
