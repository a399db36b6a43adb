// Can openafs.ko be built here? Names everything missing, so a test can skip saying why.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { resolveHeaders } from './headers.js';
import { aptSource, installedOpenafsVersion, SOURCE_PACKAGE } from './openafs-source.js';

export interface Prerequisites {
  ok: boolean;
  reason: string; // what is missing, or what was found
  version?: string;
  kernelRelease?: string;
  headersDir?: string;
}

const TOOLS: Array<[string, string]> = [
  ['gcc', 'gcc'],
  ['make', 'make'],
  ['strip', 'binutils'],
  ['bash', 'bash'],
  ['apt-get', 'apt'],
  ['dpkg-deb', 'dpkg'],
  ['dpkg-query', 'dpkg'],
];

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((d) => {
    try {
      accessSync(join(d, cmd), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** A proxy apt would use; Node's fetch wouldn't, so the probe would prove nothing. */
async function aptProxy(): Promise<string | undefined> {
  const env = process.env.http_proxy ?? process.env.HTTP_PROXY;
  if (env) return env;
  const r = await execa('apt-config', ['shell', 'P', 'Acquire::http::Proxy'], { reject: false });
  return r.stdout.match(/^P='(.+)'$/m)?.[1];
}

async function reachable(uri: string): Promise<string | undefined> {
  try {
    const res = await fetch(uri, { method: 'HEAD', signal: AbortSignal.timeout(8000) });
    return res.ok ? undefined : `HTTP ${res.status}`;
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    return err.cause?.code ?? err.name;
  }
}

/** Headers, compilers, dpkg/apt, openafs-client, the source package in the apt lists, the mirror reachable. */
export async function openafsKoPrerequisites(opts: { kernelRelease?: string; headersDir?: string } = {}): Promise<Prerequisites> {
  const missing: string[] = [];
  let net = 'mirror not probed';
  const found: Partial<Prerequisites> = {};
  const tools = TOOLS.filter(([cmd]) => !onPath(cmd));
  if (tools.length) missing.push(`not on PATH: ${tools.map(([c, p]) => `${c} (package ${p})`).join(', ')}`);
  try {
    const h = resolveHeaders(opts);
    found.kernelRelease = h.release;
    found.headersDir = h.dir;
  } catch (e) {
    missing.push((e as Error).message);
  }
  if (onPath('dpkg-query')) {
    try {
      found.version = await installedOpenafsVersion();
    } catch (e) {
      missing.push((e as Error).message);
    }
  }
  if (found.version && onPath('apt-get')) {
    const src = await aptSource(found.version);
    if (!src) {
      missing.push(`${SOURCE_PACKAGE}=${found.version} is not in the apt lists (run apt-get update, or the mirror no longer carries this version)`);
    } else {
      const proxy = await aptProxy();
      const err = proxy ? undefined : await reachable(src.uri);
      if (err) missing.push(`network: cannot reach ${src.uri} (${err})`);
      net = proxy ? `mirror not probed (apt uses proxy ${proxy})` : 'mirror reachable';
    }
  }
  if (missing.length) return { ok: false, reason: missing.join('; '), ...found };
  return { ok: true, reason: `openafs ${found.version} for kernel ${found.kernelRelease} (${found.headersDir}): gcc, make, headers, ${SOURCE_PACKAGE} in the apt lists, ${net}`, ...found };
}
