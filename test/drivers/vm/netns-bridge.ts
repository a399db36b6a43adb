// Test-only: a network namespace holding a bridge (with the gateway address) and persistent taps
// enslaved to it, for QEMU guests started inside the namespace. Everything lives in the namespace,
// so deleting it removes bridge and taps; the root namespace is never touched.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { execa } from 'execa';

export interface BridgeNetns {
  ns: string;
  bridge: string;
  taps: string[];
  destroy(): Promise<void>;
}

async function ip(args: string[]): Promise<void> {
  const r = await execa('ip', args, { reject: false });
  if (r.exitCode !== 0) throw new Error(`ip ${args.join(' ')}: ${String(r.stderr).trim()}`);
}

/** gatewayCidr: the bridge's address, e.g. "10.213.0.1/24". */
export async function createBridgeNetns(taps: number, gatewayCidr: string): Promise<BridgeNetns> {
  const tag = randomBytes(3).toString('hex');
  const ns = `vmkit-${tag}`;
  const bridge = 'br0';
  const tapNames = Array.from({ length: taps }, (_, i) => `vmt${tag}${i}`); // <= 15 chars
  await ip(['netns', 'add', ns]);
  const destroy = async () => {
    if (existsSync(`/run/netns/${ns}`)) await ip(['netns', 'del', ns]);
  };
  try {
    await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    await ip(['-n', ns, 'link', 'add', bridge, 'type', 'bridge']);
    await ip(['-n', ns, 'addr', 'add', gatewayCidr, 'dev', bridge]);
    await ip(['-n', ns, 'link', 'set', bridge, 'up']);
    for (const t of tapNames) {
      await ip(['-n', ns, 'tuntap', 'add', t, 'mode', 'tap']);
      await ip(['-n', ns, 'link', 'set', t, 'master', bridge]);
      await ip(['-n', ns, 'link', 'set', t, 'up']);
    }
  } catch (e) {
    await destroy();
    throw e;
  }
  return { ns, bridge, taps: tapNames, destroy };
}
