// Generated from schemas/cell.schema.json by src/build/gen-types.ts (npm run gen:types); do not edit.

/**
 * A guest kernel: a catalog id (e.g. netbsd-3.1-xen3-domu-nodiag), or real build artifacts on disk. Relative paths are relative to the cell file.
 */
export type KernelFiles =
  | string
  | {
      /**
       * Path to the kernel's Module.symvers.
       */
      symvers: string;
      /**
       * Path to the kernel's .config.
       */
      config?: string;
      /**
       * Kernel release (uname -r), if the build tree does not say.
       */
      release?: string | number;
      /**
       * Xen release the kernel was built for (catalog id).
       */
      xen?: string | number;
      /**
       * Path to the kernel image itself (bzImage or ELF vmlinux): the default of the guest's kernel_image, and what --driver qemu boots.
       */
      image?: string;
    };
export type MountFile =
  | string
  | {
      /**
       * The volume, or its .readonly or .backup clone.
       */
      volume: string;
      /**
       * A read/write mount point (fs mkmount -rw): always the RW volume, whatever path leads there.
       */
      rw?: boolean;
    };

/**
 * A test AFS cell and Kerberos realm: the Xen hosts, their guests, and the services on them. Validated by `cellctl validate`.
 */
export interface CellFile {
  /**
   * AFS cell name, DNS-like and lower case, e.g. tproa.net.
   */
  cell: string;
  /**
   * Kerberos realm, upper case, e.g. TPROA.NET. Default: the cell name upper-cased.
   */
  realm?: string;
  /**
   * Physical machines running Xen (dom0), by name.
   */
  hosts: {
    [k: string]: HostFile;
  };
  /**
   * Xen domains (domUs), by name.
   */
  guests: {
    [k: string]: GuestFile;
  };
  kerberos?: KerberosFile;
  /**
   * More Kerberos realms besides the cell's own (`realm`), by name: each with its KDCs and principals. `kerberos.trusts` joins them to the cell's realm.
   */
  realms?: {
    [k: string]: RealmFile;
  };
  afs?: AfsFile;
  software?: SoftwareFile;
}
/**
 * A physical machine running Xen.
 */
export interface HostFile {
  /**
   * Catalog id of the dom0 OS, e.g. netbsd-4.0_beta.
   */
  os: string;
  /**
   * Xen hypervisor release (catalog id), e.g. 3.0.2.
   */
  xen: string | number;
  /**
   * MiB of physical RAM.
   */
  memory: number;
  /**
   * MiB kept by dom0. Default: the dom0 OS's catalog default, else 256.
   */
  dom0_memory?: number;
  /**
   * Physical CPUs.
   */
  cpus?: number;
  /**
   * CPU flags; add vmx or svm to allow hvm guests.
   *
   * @maxItems 512
   *
   * Items: A CPU flag as /proc/cpuinfo names it: pae, vmx (Intel VT-x), svm (AMD-V).
   */
  cpu_features?: string[];
  /**
   * Network bridges guests' vifs can join.
   *
   * @maxItems 256
   *
   * Items: A network bridge on the host, e.g. bridge3 or xenbr0.
   */
  bridges?: string[];
  /**
   * Block devices available to phy: disks.
   *
   * @maxItems 4096
   *
   * Items: A block device on the host, e.g. /dev/wd2d.
   */
  devices?: string[];
  /**
   * Path prefixes other hosts can reach too (SAN, NFS): needed for live migration.
   *
   * @maxItems 256
   *
   * Items: An absolute path.
   */
  shared_storage?: string[];
  /**
   * libvirt connection URI for the libvirt driver, e.g. xen+ssh://root@kraken/.
   */
  uri?: string;
}
/**
 * A Xen domain (domU).
 */
export interface GuestFile {
  /**
   * The host (from hosts) this guest runs on.
   */
  host: string;
  /**
   * Catalog id of the guest OS, e.g. netbsd-3.1 or debian-etch.
   */
  os: string;
  kernel: KernelFiles;
  /**
   * pv: paravirtualised (needs a domU kernel); hvm: unmodified (needs vmx or svm).
   */
  type?: 'pv' | 'hvm';
  /**
   * MiB of RAM at boot (xm memory).
   */
  memory: number;
  /**
   * MiB the guest may balloon up to (xm maxmem). Default: memory.
   */
  maxmem?: number;
  /**
   * Virtual CPUs.
   */
  vcpus?: number;
  /**
   * Network interfaces.
   *
   * @maxItems 64
   */
  vifs?: VifFile[];
  /**
   * Xen disk specs in xm syntax: file:/path/img,0x01,w or phy:/dev/wd2d,0x02,w or tap:aio:/path/img,xvda,r.
   *
   * @maxItems 256
   */
  disks?: string[];
  /**
   * Root device passed to the kernel, e.g. /dev/wd0d or '/dev/hda1 ro'.
   */
  root?: string;
  /**
   * Path of the kernel image on the host. Default: /local/xen/<guest>.<cell>/<the catalog kernel's image> (vmlinuz-<release> for a kernel given as files).
   */
  kernel_image?: string;
  /**
   * Kernel modules loaded at boot: catalog ids, or paths to .ko files (relative to the cell file).
   *
   * @maxItems 64
   *
   * Items: A kernel module: a catalog id, or the path of a .ko file (relative to the cell file).
   */
  extra_modules?: string[];
}
/**
 * A virtual network interface.
 */
export interface VifFile {
  /**
   * MAC address; Xen's prefix is 00:16:3e.
   */
  mac: string;
  /**
   * Host bridge to attach to; must be one of the host's bridges.
   */
  bridge: string;
  /**
   * The guest's IPv4 address on this interface.
   */
  ip?: string;
}
/**
 * The Kerberos realm.
 */
export interface KerberosFile {
  /**
   * KDC software: heimdal-0.72, mit-krb5-1.4.4, ...
   */
  software: string;
  /**
   * Guests running a KDC; the first is the master, the rest replicas.
   *
   * @minItems 1
   * @maxItems 32
   *
   * Items: A host or guest name: lower-case letters, digits and '-', as in a DNS label.
   */
  kdcs: string[];
  /**
   * Principals to create, e.g. kula, kula/admin.
   *
   * @maxItems 100000
   *
   * Items: A Kerberos principal without the realm, e.g. kula or kula/admin.
   */
  principals?: string[];
  /**
   * Service principals with random keys, exported to keytabs (kadmin ktadd).
   *
   * @maxItems 1000
   */
  keytabs?: KeytabFile[];
  /**
   * Realms (from `realms`) trusted both ways: krbtgt/OTHER@REALM and krbtgt/REALM@OTHER, with the same key in both KDCs, so users of either realm get tickets for services of the other (aklog for a foreign user).
   *
   * @maxItems 32
   *
   * Items: Upper-case Kerberos realm, e.g. TPROA.NET.
   */
  trusts?: string[];
}
/**
 * A service principal with a random key, exported to a keytab (kadmin ktadd -e ...), e.g. host/service-m1.tproa.net.
 */
export interface KeytabFile {
  /**
   * The service principal, without the realm.
   */
  principal: string;
  /**
   * The guest it is installed on as /etc/krb5.keytab (0600). Without it, the keytab is only kept for `cellctl export --format client`.
   */
  guest?: string;
  /**
   * Its key types, e.g. [des-cbc-crc] for what OpenAFS 1.4 and other old servers take, [aes256-cts-hmac-sha1-96] for current ones.
   *
   * @minItems 1
   * @maxItems 11
   *
   * Items: A Kerberos encryption type, by MIT krb5's name: des-cbc-crc, des3-cbc-sha1, arcfour-hmac, aes256-cts-hmac-sha1-96, ...
   */
  enctypes: (
    | 'des-cbc-crc'
    | 'des-cbc-md4'
    | 'des-cbc-md5'
    | 'des3-cbc-sha1'
    | 'arcfour-hmac'
    | 'aes128-cts-hmac-sha1-96'
    | 'aes256-cts-hmac-sha1-96'
    | 'aes128-cts-hmac-sha256-128'
    | 'aes256-cts-hmac-sha384-192'
    | 'camellia128-cts-cmac'
    | 'camellia256-cts-cmac'
  )[];
}
/**
 * A Kerberos realm besides the cell's own.
 */
export interface RealmFile {
  /**
   * KDC software: heimdal-0.72, mit-krb5-1.4.4, ...
   */
  software: string;
  /**
   * Guests running a KDC of this realm; the first is the master. A guest serves one realm.
   *
   * @minItems 1
   * @maxItems 32
   *
   * Items: A host or guest name: lower-case letters, digits and '-', as in a DNS label.
   */
  kdcs: string[];
  /**
   * Principals of this realm, e.g. bob.
   *
   * @maxItems 100000
   *
   * Items: A Kerberos principal without the realm, e.g. kula or kula/admin.
   */
  principals?: string[];
  /**
   * Service principals with random keys, exported to keytabs (kadmin ktadd).
   *
   * @maxItems 1000
   */
  keytabs?: KeytabFile[];
}
/**
 * The AFS cell.
 */
export interface AfsFile {
  /**
   * Server software: openafs-1.4.2, ...
   */
  software: string;
  /**
   * Guests running the database servers (ptserver, vlserver); an odd number keeps ubik's quorum.
   *
   * @minItems 1
   * @maxItems 8
   *
   * Items: A host or guest name: lower-case letters, digits and '-', as in a DNS label.
   */
  dbservers: string[];
  /**
   * Guests running a fileserver, with their partitions.
   */
  fileservers?: {
    /**
     * Server partitions.
     *
     * @minItems 1
     * @maxItems 255
     *
     * Items: An AFS server partition, /vicepa to /vicepiu.
     */
    [k: string]: string[];
  };
  /**
   * Guests running an AFS client, with the client software (openafs-1.4.2, arla-0.43).
   */
  clients?: {
    /**
     * An id from cellctl's catalog (`cellctl catalog` lists them).
     */
    [k: string]: string;
  };
  /**
   * Volumes to create.
   *
   * @maxItems 100000
   */
  volumes?: {
    /**
     * An AFS volume name, e.g. root.cell: letters, digits, '.', '_' and '-', at most 22 characters (room for .readonly); not a number, not ending in .readonly or .backup, not starting with '-'.
     */
    name: string;
    /**
     * A fileserver guest.
     */
    server: string;
    /**
     * One of that fileserver's partitions.
     */
    partition: string;
    /**
     * Quota in KB (1024-byte blocks), as fs setquota -max; 0: no limit. Without it, vos create's default: 5000 KB.
     */
    quota?: number;
    /**
     * Read-only sites: vos addsite for each, then vos release. Clients reach the RO clone through regular mount points in replicated volumes (and /afs/<cell> when root.cell is replicated).
     *
     * @maxItems 12
     */
    replicas?: SiteFile[];
    /**
     * Make the backup volume NAME.backup (vos backup): a read-only snapshot beside the RW, e.g. mounted as OldFiles.
     */
    backup?: boolean;
  }[];
  /**
   * AFS users with an explicit AFS id (pts createuser -id), by pts name: kula, kula.admin, bob@athena.tproa.net. Every principal of the cell's realm is an AFS user; a user of another realm is one when named here, in a group or in an ACL.
   */
  users?: {
    [k: string]: {
      /**
       * The user's AFS id (its UNIX uid on AFS clients); default: the ptserver's next free id.
       */
      id?: number;
    };
  };
  /**
   * AFS groups by name, with their owner and members (pts creategroup, pts adduser). system:administrators takes members only: it is the cell's administrators.
   */
  groups?: {
    [k: string]: GroupFile;
  };
  /**
   * Mount points (fs mkmount), by path: /afs/tproa.net/home: home. A value NAME.backup or NAME.readonly mounts that clone; { volume: home, rw: true } makes a read/write mount point (fs mkmount -rw). The directory holding it is /afs/<cell> or another mount point.
   */
  mounts?: {
    [k: string]: MountFile;
  };
  /**
   * Access control lists, by directory: /afs/tproa.net/home: { system:anyuser: rl, kula: all, amy: -w }. The directory is /afs, /afs/<cell> or a mount point (the root of the volume mounted there). A declared ACL is the whole ACL (fs setacl -clear).
   */
  acls?: {
    /**
     * Users and groups with their rights.
     */
    [k: string]: {
      /**
       * AFS access rights: letters of rlidwka (read, lookup, insert, delete, write, lock, administer) and the site rights A-H, or all (rlidwka), read (rl), write (rlidwk). A leading '-' makes a negative entry (fs setacl -negative): those rights are taken away.
       */
      [k: string]: string;
    };
  };
}
/**
 * A fileserver and one of its partitions.
 */
export interface SiteFile {
  /**
   * A fileserver guest.
   */
  server: string;
  /**
   * One of that fileserver's partitions.
   */
  partition: string;
}
export interface GroupFile {
  /**
   * A user or group (pts chown). Default: system:administrators; for owner:name, the owner named by the prefix.
   */
  owner?: string;
  /**
   * AFS users (pts names, foreign users included).
   *
   * @maxItems 100000
   *
   * Items: An AFS user as the ptserver names it: kula, kula.admin (for kula/admin), bob@athena.tproa.net (a user of another realm: its realm in lower case).
   */
  members?: string[];
  /**
   * The group's AFS id (pts creategroup -id). Default: the ptserver's next free one.
   */
  id?: number;
}
/**
 * Your own builds, run in place of the packaged software by the real backends (netns): the catalog ids in `kerberos` and `afs` still say what the cell models.
 */
export interface SoftwareFile {
  openafs?: OpenAfsBuildFile;
}
/**
 * An OpenAFS install tree (`make install DESTDIR=DIR` of a checkout, or `configure --prefix=DIR && make install`): its bosserver, ptserver, vlserver, dafs binaries, bos/vos/pts/udebug/asetkey (and afsd.fuse, when built with --enable-fuse-client) run the cell, with the version the binaries report (rxdebug -version). Configure it with Debian's directories (--sysconfdir=/etc --localstatedir=/var/lib, see finding afs-build-paths): each guest's own tree is bound over them. Changing it (or a rebuild in place) restarts the database servers one at a time, keeping ubik's quorum.
 */
export interface OpenAfsBuildFile {
  /**
   * The install tree's directory (absolute, or relative to the cell file): DESTDIR, holding usr/local/{bin,sbin,libexec/openafs} (configure's defaults), usr/{bin,sbin,lib/openafs} (Debian's layout), or {bin,sbin,libexec/openafs} directly.
   */
  prefix: string;
}
