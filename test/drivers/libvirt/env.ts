// What the real-libvirt tests need (root, libvirtd with its QEMU driver, the qemu driver's kit), why
// they skip, and what a test may leave on the machine: libvirtds, QEMUs, namespaces, sshds.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { libvirtdPrerequisites } from '../../../src/drivers/libvirt/libvirtd.js';
import { qemuEnv, type Env } from '../qemu/env.js';

export async function libvirtEnv(o: { openafs?: boolean } = {}): Promise<Env> {
  const lv = libvirtdPrerequisites();
  if (!lv.ok) return { ok: false, reason: lv.reason ?? 'no libvirtd', buildMs: 0 };
  const virtXml = await execa('virt-xml-validate', ['--version'], { reject: false });
  if (virtXml.exitCode !== 0) return { ok: false, reason: 'virt-xml-validate (libvirt-clients) not installed', buildMs: 0 };
  return qemuEnv(o);
}

/** A short work directory: libvirtd's sockets live in it (a socket path holds 107 bytes). */
export function shortTemp(what: string): string {
  return mkdtempSync(join(tmpdir(), `clv-${what}-`));
}

function argvOf(pid: string): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

function environOf(pid: string): string[] {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

function isZombie(pid: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/**
 * What a test under `work` can leave: libvirtds started there (their --config is in it), QEMUs whose
 * files are in it, sshds whose config is in it, namespaces with the prefixes given, files of a state dir.
 */
export async function leftovers(work: string, prefixes: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    if (isZombie(pid)) continue;
    const argv = argvOf(pid);
    const inWork = argv.some((a) => a.includes(work)) || environOf(pid).some((e) => e.startsWith('CELLCTL_LIBVIRTD=') && e.includes(work));
    if (!inWork) continue;
    if (argv.some((a) => a.endsWith('libvirtd'))) out.push(`libvirtd pid ${pid}`);
    else if (argv.some((a) => a.includes('qemu-system'))) out.push(`qemu pid ${pid}`);
    else if (argv.some((a) => a.endsWith('sshd'))) out.push(`sshd pid ${pid}`);
  }
  const ns = await execa('ip', ['netns', 'list']);
  for (const l of String(ns.stdout).split('\n')) if (prefixes.some((p) => l.startsWith(p))) out.push(`namespace ${l.split(' ')[0]}`);
  for (const l of readFileSync('/proc/mounts', 'utf8').split('\n')) if (l.includes(work)) out.push(`mount ${l}`);
  return out;
}

/** After a test that may have failed half-way: end what it started (by pid, found above), delete its namespaces, then its files. */
export async function cleanUp(work: string | undefined, prefixes: string[]): Promise<void> {
  if (!work) return;
  for (const l of await leftovers(work, prefixes)) {
    const pid = /^\w+ pid (\d+)$/.exec(l)?.[1];
    if (pid) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    const ns = /^namespace (\S+)$/.exec(l)?.[1];
    if (ns) await execa('ip', ['netns', 'del', ns], { reject: false });
  }
  if (existsSync(work)) rmSync(work, { recursive: true, force: true });
}
