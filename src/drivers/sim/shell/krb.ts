// kinit, klist, kdestroy, aklog, tokens, unlog in the sim's shell: the ticket cache and the PAG's
// token are root's on the guest and stay between runs of cellctl exec, as /tmp/krb5cc_0 would.
import { aklogWith, describeToken } from '../afsclient.js';
import { kinit } from '../kerberos.js';
import { kinitKeytab } from '../realms.js';
import { own, unixTime } from '../world.js';
import { hasAfsTools, tokenPrincipal, type Cmd, type Ctx } from './context.js';

const CCACHE = 'FILE:/tmp/krb5cc_0';

/** Log in: a TGT in the shell's ticket cache (the old one is replaced, as kinit does). */
export function login(c: Ctx, principal: string, password?: string): number {
  const k = kinit(c.w, c.env, c.guest, principal, password);
  if (!k.ok) {
    c.err(k.error);
    return 1;
  }
  const realm = k.full.slice(k.full.lastIndexOf('@') + 1);
  c.shell.ccache = { principal: k.full, kdc: k.kdc, authtime: k.authtime, services: [`krbtgt/${realm}@${realm}`] };
  return 0;
}

export const kinitCmd: Cmd = (c, args) => {
  const keytab = args.includes('-k');
  const names = args.filter((a, i) => !a.startsWith('-') && args[i - 1] !== '-t');
  const principal = names[0] ?? c.shell.ccache?.principal.split('@')[0] ?? 'root';
  if (keytab) {
    const r = kinitKeytab(c.w, c.env, c.guest, principal);
    if (!r.ok) {
      c.err(r.error);
      return 1;
    }
    c.shell.ccache = { principal: r.full, kdc: r.kdc, authtime: unixTime(c.w.clock), services: [`krbtgt/${r.full.split('@')[1]}@${r.full.split('@')[1]}`] };
    return 0;
  }
  const line = c.stdin.split('\n')[0];
  if (!c.stdin) {
    c.err(`kinit: Cannot read password while getting initial credentials (give it on stdin, or use cellctl exec --as ${principal})`);
    return 1;
  }
  return login(c, principal, line);
};

export const klistCmd: Cmd = (c, args) => {
  if (args.includes('-k')) {
    const kts = Object.values(c.w.keytabs).filter((k) => k.guest === c.guest);
    if (!kts.length) {
      c.err('klist: Key table file \'FILE:/etc/krb5.keytab\' not found while starting keytab scan');
      return 1;
    }
    c.out(['Keytab name: FILE:/etc/krb5.keytab', 'KVNO Principal', '---- --------------------------------------------------------------------------',
      ...kts.flatMap((k) => k.enctypes.map((e) => `${String(k.kvno).padStart(4)} ${k.principal} (${e})`))].join('\n'));
    return 0;
  }
  const cc = c.shell.ccache;
  if (!cc) {
    c.err(`klist: No credentials cache found (filename: /tmp/krb5cc_0)`);
    return 1;
  }
  const when = (t: number) => {
    const d = new Date(t * 1000);
    const two = (n: number) => String(n).padStart(2, '0');
    return `${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())}/${two(d.getUTCFullYear() % 100)} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  };
  c.out([`Ticket cache: ${CCACHE}`, `Default principal: ${cc.principal}`, '', 'Valid starting       Expires              Service principal',
    ...cc.services.map((s) => `${when(cc.authtime)}  ${when(cc.authtime + 36000)}  ${s}`)].join('\n').replace('Valid starting       Expires              ', 'Valid starting     Expires            '));
  return 0;
};

export const kdestroyCmd: Cmd = (c) => {
  c.shell.ccache = null;
  return 0;
};

/** aklog [-c cell] [-k realm]: a token for the cell from the ticket cache's TGT (kinit first). */
export const aklogCmd: Cmd = (c, args) => {
  if (!hasAfsTools(c)) return notFound(c, 'aklog');
  const cell = args[args.indexOf('-c') + 1];
  if (args.includes('-c') && cell !== c.cell) {
    c.err(`aklog: Couldn't figure out the realm for cell ${cell} (it is not in /etc/openafs/CellServDB)`);
    return 1;
  }
  const cc = c.shell.ccache;
  if (!cc) {
    c.err(`aklog: Couldn't get ${c.cell} AFS tickets: No credentials cache found (filename: /tmp/krb5cc_0)`);
    return 1;
  }
  const t = aklogWith(c.w, c.env, c.guest, { ok: true, kdc: cc.kdc, full: cc.principal, authtime: cc.authtime });
  if (!t.ok) {
    c.err(t.error);
    return 1;
  }
  const service = `afs/${c.cell}@${c.env.realm}`;
  const realm = cc.principal.slice(cc.principal.lastIndexOf('@') + 1);
  const cross = realm !== c.env.realm ? [`krbtgt/${c.env.realm}@${realm}`] : [];
  cc.services = [...new Set([...cc.services, ...cross, service])];
  c.shell.token = t.value.principal;
  return 0;
};

export const tokensCmd: Cmd = (c) => {
  if (!hasAfsTools(c)) return notFound(c, 'tokens');
  const p = tokenPrincipal(c);
  const t = p ? own(c.w.clients, c.guest)!.tokens[p]! : undefined;
  c.out(['', 'Tokens held by the Cache Manager:', '', ...(t ? [describeToken(c.cell, t)] : []), '   --End of list--'].join('\n'));
  return 0;
};

export const unlogCmd: Cmd = (c) => {
  if (!hasAfsTools(c)) return notFound(c, 'unlog');
  const p = tokenPrincipal(c);
  if (p) delete own(c.w.clients, c.guest)!.tokens[p];
  c.shell.token = null;
  return 0;
};

export function notFound(c: Ctx, name: string): number {
  c.err(`sh: ${name}: not found`);
  return 127;
}
