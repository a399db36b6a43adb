// Smoke checks of the services, the same on every placement: each runs a real protocol exchange from
// the right guest (an AS-REQ, udebug, vos, pts, bos plus an RPC to every instance). Client-side
// checks are the client's (the netns driver's afsd.fuse + libuafs, or afs-client.ts's kernel client).
import type { Check, CheckResult } from '../driver.js';
import { dbPlace } from './afs-db.js';
import { admin } from './afs-servers.js';
import { probeInstance } from './health.js';
import { kdcAnswers, kdcName, kdcPid, kinit } from './kerberos.js';
import type { Services } from './placement.js';
import { lastLines } from './util.js';

export const pass = (message: string, detail?: string): CheckResult => ({ status: 'pass', message, ...(detail ? { detail } : {}) });
export const fail = (message: string, detail?: string): CheckResult => ({ status: 'fail', message, ...(detail ? { detail } : {}) });
export const skip = (message: string, detail?: string): CheckResult => ({ status: 'skip', message, ...(detail ? { detail } : {}) });

export const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string' || !v) throw new Error(`check parameter ${what} missing`);
  return v;
};

/** The guest a check runs on (its own, or its params'). */
export function checkGuest(c: Check): string | undefined {
  return c.guest ?? (typeof c.params.guest === 'string' ? c.params.guest : undefined);
}

/** A check of the services, or undefined when the kind is not one of theirs. */
export async function serviceCheck(x: Services, c: Check, password: (principal: string) => string): Promise<CheckResult | undefined> {
  const guest = checkGuest(c);
  switch (c.kind) {
    case 'kdc-answers': {
      const p = x.place(str(guest, 'guest'));
      const pid = await kdcPid(x, p);
      if (!pid) return fail(`${kdcName(x, p.guest)} is not running on ${p.guest}`);
      // A real AS exchange against this KDC only: an unknown client must be refused by the KDC itself.
      const res = await kdcAnswers(x, p);
      const realm = x.reg.kdcs[p.guest]?.realm ?? x.realm;
      if (res.ok) return pass(`${kdcName(x, p.guest)} (pid ${pid}) at ${p.ip()} answers for ${realm} (AS-REQ for an unknown principal: "client not found")`, res.out);
      return fail(`KDC on ${p.guest} did not answer an AS-REQ`, res.out);
    }
    case 'kinit': {
      const pr = str(c.params.principal, 'principal');
      const k = await kinit(x, x.place(str(guest, 'guest')), pr, password(pr));
      const full = pr.includes('@') ? pr : `${pr}@${x.realm}`;
      if (!k.ok) return fail(`kinit ${full} from ${guest} failed`, k.out);
      if (!k.klist.includes(`krbtgt/${k.realm}@${k.realm}`)) return fail('kinit succeeded but no TGT in the cache', k.klist);
      return pass(`kinit ${full} from ${guest}: TGT issued`, k.klist);
    }
    case 'afs-quorum':
      return quorum(x, guest, (c.params.dbservers as string[] | undefined) ?? x.reg.dbPlanned);
    case 'volume-listed': {
      const p = x.place(str(c.params.server, 'server'));
      const vol = str(c.params.volume, 'volume');
      const part = str(c.params.partition, 'partition');
      const list = await admin(x, p, 'vos', ['listvol', p.ip(), part]); // throws when bosserver is not running
      if (list.code !== 0 || !new RegExp(`^${vol.replace(/\./g, '\\.')}\\s+\\d+ RW .*On-line`, 'm').test(list.stdout)) {
        return fail(`volume ${vol} not listed on-line on ${p.guest} ${part}`, list.out);
      }
      const ex = await admin(x, p, 'vos', ['examine', vol]);
      return ex.code === 0 ? pass(`${vol} on ${p.guest} ${part}: ${lastLines(ex.stdout.split('\n')[0] ?? '', 1)}`, ex.stdout) : fail(`vos examine ${vol} failed`, ex.out);
    }
    case 'pts-user': {
      const u = str(c.params.user, 'user');
      const ex = await admin(x, await dbPlace(x), 'pts', ['examine', u]);
      return ex.code === 0 ? pass(`pts: ${ex.stdout.split('\n')[0]}`, ex.stdout) : fail(`pts examine ${u} failed`, ex.out);
    }
    case 'pts-group': {
      const group = str(c.params.group, 'group');
      const want = Array.isArray(c.params.members) ? c.params.members.map(String) : [];
      const m = await admin(x, await dbPlace(x), 'pts', ['membership', group]);
      if (m.code !== 0) return fail(`pts membership ${group} failed`, m.out);
      const has = m.stdout.split('\n').slice(1).map((l) => l.trim()).filter(Boolean);
      const missing = want.filter((u) => !has.includes(u));
      return missing.length ? fail(`${group} lacks ${missing.join(', ')} (pts membership: ${has.join(', ') || 'no members'})`, m.out) : pass(`${group}: ${has.join(', ')}`, m.stdout);
    }
    case 'bos-status':
      return bosInstances(x, str(guest, 'guest'));
    default:
      return undefined;
  }
}

// A majority answering but not exactly one sync site is an election in progress (a server just left
// or came back): probe again until it settles, within ubik's election time-scale.
const ELECTION_SETTLE_MS = 30_000;
const ELECTION_POLL_MS = 1_000;

/** udebug against every db server's ptserver (7002) and vlserver (7003): who answers, who is sync site. */
async function quorum(x: Services, from: string | undefined, dbservers: string[]): Promise<CheckResult> {
  const src = from && x.has(from) ? from : dbservers.find((d) => x.has(d));
  if (!src) return fail('no db server guest is up');
  const t0 = Date.now();
  for (let probes = 1; ; probes++) {
    const { problems, detail } = await probeQuorum(x, src, dbservers);
    if (problems.length === 0) {
      const waited = probes > 1 ? ` (settled after ${probes} probes, ${((Date.now() - t0) / 1000).toFixed(1)} s)` : '';
      return pass(`ubik quorum for ptserver and vlserver: one sync site, ${dbservers.length} db server(s)${waited}`, detail);
    }
    const settling = problems.every((p) => !p.includes('quorum lost'));
    if (!settling || Date.now() - t0 > ELECTION_SETTLE_MS) return fail(problems.join('; '), detail);
    await new Promise((res) => setTimeout(res, ELECTION_POLL_MS));
  }
}

async function probeQuorum(x: Services, src: string, dbservers: string[]): Promise<{ problems: string[]; detail: string }> {
  const from = x.place(src);
  const need = Math.floor(dbservers.length / 2) + 1;
  const lines: string[] = [];
  const problems: string[] = [];
  for (const [port, svc] of [[7002, 'ptserver'], [7003, 'vlserver']] as const) {
    let answering = 0;
    const syncSites = new Set<string>();
    for (const d of dbservers) {
      const ip = x.addressOf(d);
      if (!ip) { lines.push(`${svc} ${d}: guest is down`); continue; }
      const u = await from.run('udebug', [ip, String(port)], { timeoutMs: 10_000 });
      if (u.code !== 0 || !/Local db version/.test(u.stdout)) { lines.push(`${svc} ${d} (${ip}): no answer`); continue; }
      answering++;
      if (/I am sync site/.test(u.stdout)) syncSites.add(ip);
      const sync = /I am sync site[^\n]*|I am not sync site/.exec(u.stdout)?.[0] ?? '';
      const rec = /Recovery state (\S+)/.exec(u.stdout)?.[0];
      lines.push(`${svc} ${d} (${ip}): ${sync}${rec ? `, ${rec}` : ''}`);
    }
    if (answering < need) problems.push(`${svc}: quorum lost, ${answering} of ${dbservers.length} db servers answer (need ${need})`);
    else if (syncSites.size !== 1) problems.push(`${svc}: ${syncSites.size} sync sites (want exactly one)`);
  }
  return { problems, detail: lines.join('\n') };
}

/**
 * bos status says what bosserver believes; each instance then answers an RPC of its own (ubik's
 * debug call to ptserver and vlserver, Rx to the file and volume servers): a frozen or hung server
 * fails here even while bosserver still reports it "running normally".
 */
async function bosInstances(x: Services, s: string): Promise<CheckResult> {
  const p = x.place(s);
  const st = await admin(x, p, 'bos', ['status', p.ip(), '-long']); // throws when bosserver is not running
  const inst = [...st.stdout.matchAll(/^Instance (\S+), \(type is \S+\) (.*)$/gm)];
  if (st.code !== 0 || !inst.length) return fail(`bos status ${s} failed`, st.out);
  const bad = inst.filter((m) => !/currently running normally/.test(m[2] ?? ''));
  if (bad.length) return fail(`on ${s}: ${bad.map((m) => `${m[1]} ${m[2]}`).join('; ')}`, st.stdout);
  const probes = (await Promise.all(inst.map((m) => probeInstance(p, m[1]!)))).flat();
  const detail = [st.stdout, ...probes.map((q) => `${q.cmd} ${p.ip()} ${q.port} (${q.process}): ${q.ok ? 'answers' : `no answer: ${lastLines(q.out, 2)}`}`)].join('\n');
  const silent = probes.filter((q) => !q.ok);
  if (silent.length) return fail(`on ${s}: bos says running, but ${silent.map((q) => `${q.process} (port ${q.port})`).join(', ')} does not answer`, detail);
  return pass(`on ${s}: ${inst.map((m) => m[1]).join(', ')} running, and ${probes.map((q) => q.process).join(', ')} answer`, detail);
}
