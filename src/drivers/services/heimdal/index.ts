// Debian's Heimdal KDC for `kerberos: { software: heimdal-... }` on the real backends: unpacked beside MIT
// krb5 (their packages conflict), a realm in a directory, the kdc daemon in a network namespace.
export { ensureHeimdal, heimdalPrerequisites, HEIMDAL_LIBS, HEIMDAL_UNPACKED } from './install.js';
export type { HeimdalInstall, HeimdalPrerequisites } from './install.js';
export { DEFAULT_ENCTYPES, HeimdalRealm, mitClientConf, realmFiles, writeRealmConfig } from './realm.js';
export type { PrincipalInfo, RealmFiles, RealmOptions } from './realm.js';
export { kdcAlive, kdcPid, kdcProcesses, startKdc, stopKdc } from './kdc.js';
export type { StartKdcOptions } from './kdc.js';
