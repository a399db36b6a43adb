// Test-only: "another machine's" sshd for qemu+ssh:// to a libvirtd of ours. It listens on loopback
// (nothing leaves the machine), with keys made for the test, and runs in a mount namespace where that
// libvirtd's socket directory is /run/libvirt: libvirt's ssh transport runs virt-ssh-helper on the far
// side, which connects to the standard socket, as it would on a real host.
import { createServer } from 'node:net';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';

export interface Sshd {
  port: number;
  pid: number;
  /** The qemu+ssh:// URI of the libvirtd behind this sshd (keys and known_hosts of the test's own). */
  uri: string;
  stop(): void;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export function sshAvailable(o: { nc?: boolean } = {}): boolean {
  try {
    readFileSync('/usr/sbin/sshd');
    readFileSync('/usr/bin/ssh');
    readFileSync('/usr/bin/virt-ssh-helper');
    if (o.nc) readFileSync('/bin/nc'); // libvirt's ssh transport to a socket= path runs nc -U on the far side
    return true;
  } catch {
    return false;
  }
}

/**
 * dir: the sshd's own files (its client key "id" and ssh wrapper "ssh" too); socketDir: a libvirtd's
 * unix_sock_dir, seen as /run/libvirt by the sshd (for URIs without socket=); port: a fixed one (a cell
 * file names it), else a free one.
 */
export async function startSshd(dir: string, socketDir?: string, port?: number): Promise<Sshd> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const k of ['id', 'hostkey']) await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'cellctl-test', '-f', join(dir, k)]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'id.pub')));
  const listen = port ?? (await freePort());
  writeFileSync(join(dir, 'sshd_config'), [
    `Port ${listen}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'hostkey')}`, `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    `PidFile ${join(dir, 'sshd.pid')}`, 'UsePAM no', 'PermitRootLogin prohibit-password', 'PasswordAuthentication no',
    'KbdInteractiveAuthentication no', 'StrictModes no', '',
  ].join('\n'));
  // ssh with the test's known_hosts: root's own ~/.ssh is never written
  writeFileSync(join(dir, 'ssh'), `#!/bin/sh\nexec ssh -o UserKnownHostsFile=${join(dir, 'known_hosts')} -o StrictHostKeyChecking=accept-new -o BatchMode=yes "$@"\n`);
  chmodSync(join(dir, 'ssh'), 0o755);
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege separation directory (its package makes it at service start)
  const bind = socketDir ? 'mount --bind "$1" /run/libvirt && ' : '';
  await execa('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `${bind}exec /usr/sbin/sshd -f "$2" -E "$3"`, 'sh', socketDir ?? '', join(dir, 'sshd_config'), join(dir, 'sshd.log')]);
  let pid = 0;
  for (let i = 0; i < 200 && !pid; i++) {
    try {
      pid = Number(readFileSync(join(dir, 'sshd.pid'), 'utf8').trim()); // written once it listens (empty while being written)
    } catch {
      /* not there yet */
    }
    if (!pid) await new Promise((r) => setTimeout(r, 50));
  }
  if (!pid) {
    // it may be listening without a readable pidfile: stop it by its config path, so a failed start leaves no sshd
    await execa('pkill', ['-f', join(dir, 'sshd_config')], { reject: false });
    throw new Error(`sshd did not start: ${readFileSync(join(dir, 'sshd.log'), 'utf8')}`);
  }
  return {
    port: listen, pid,
    uri: `qemu+ssh://root@127.0.0.1:${listen}/system?keyfile=${join(dir, 'id')}&command=${join(dir, 'ssh')}`,
    stop: () => {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    },
  };
}
