// C sources of the two small helpers the netns driver compiles for authenticated AFS access
// (client.ts builds them with gcc against Debian's libopenafs-dev). Kept as text so the driver is self-contained.

/** LD_PRELOAD shim for aklog: no kernel AFS syscall here, so its token pioctl is saved to a file instead. */
export const TOKCAP_C = `/* LD_PRELOAD shim for aklog: there is no kernel AFS syscall here, so catch the
 * token pioctl and save its argument block to $CELLCTL_TOKEN_OUT instead. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct vioc { char *in, *out; short in_size, out_size; };

long syscall(long nr, ...) {
  va_list ap; long a[6]; int i;
  va_start(ap, nr); for (i = 0; i < 6; i++) a[i] = va_arg(ap, long); va_end(ap);
  if (nr == SYS_afs_syscall && a[0] == 20 /* AFSCALL_PIOCTL */) {
    unsigned int cmd = (unsigned int)a[2];
    struct vioc *v = (struct vioc *)a[3];
    const char *out = getenv("CELLCTL_TOKEN_OUT");
    /* token-setting pioctls: VIOCSETTOK ('V',3) and VIOC_SETTOK2 ('C',8) */
    if (out && v && ((((cmd >> 8) & 0xff) == 'V' && (cmd & 0xff) == 3) || (((cmd >> 8) & 0xff) == 'C' && (cmd & 0xff) == 8))) {
      int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd < 0) { errno = EIO; return -1; }
      uint32_t hdr[2] = { cmd, (uint32_t)(unsigned short)v->in_size };
      if (write(fd, hdr, sizeof hdr) != sizeof hdr || write(fd, v->in, (unsigned short)v->in_size) != (unsigned short)v->in_size) { close(fd); errno = EIO; return -1; }
      close(fd);
      return 0;
    }
    errno = ENOSYS; return -1;
  }
  long (*real)(long, ...) = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
  return real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
`;

/** cellctl-uafs: one file operation through libuafs (OpenAFS's user-space cache manager) with a captured token. */
export const UAFS_C = `/* cellctl-uafs: one authenticated file operation through libuafs, OpenAFS's
 * user-space cache manager (the code afsd.fuse runs), with a token that real
 * aklog produced (captured by tokcap.so because no kernel module is loaded). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* libuafs API (afs_usrops.h is not shipped by libopenafs-dev) */
int uafs_Setup(const char *mount);
int uafs_ParseArgs(int argc, char **argv);
int uafs_Run(void);
int uafs_Shutdown(void);
void uafs_SetRxPort(int port);
int uafs_open(char *path, int flags, int mode);
int uafs_write(int fd, char *buf, int len);
int uafs_read(int fd, char *buf, int len);
int uafs_close(int fd);
int uafs_unlink(char *path);
int uafs_stat(char *path, struct stat *st);
int uafs_symlink(char *target, char *source);
int call_syscall(long syscall, long afscall, long p1, long p2, long p3, long p4);

struct vioc { char *in, *out; short in_size, out_size; };
#define AFSCALL_PIOCTL 20
#define VIOCSETAL _IOW('V', 1, struct vioc)
#define VIOCGETAL _IOW('V', 2, struct vioc)
#define VIOCGETTOK _IOW('V', 8, struct vioc)
#define VIOCGETVOLSTAT _IOW('V', 4, struct vioc)
#define VIOCFLUSHCB _IOW('V', 25, struct vioc)
#define VIOC_AFS_DELETE_MT_PT _IOW('V', 28, struct vioc)
#define VIOC_AFS_STAT_MT_PT _IOW('V', 29, struct vioc)

static int pioctl_(char *path, unsigned cmd, struct vioc *v) {
  return call_syscall(AFSCALL_PIOCTL, (long)path, cmd, (long)v, 1, 0);
}

static int load_token(const char *file) {
  static char buf[16384]; uint32_t hdr[2];
  int fd = open(file, O_RDONLY);
  if (fd < 0 || read(fd, hdr, sizeof hdr) != sizeof hdr || hdr[1] > sizeof buf || read(fd, buf, hdr[1]) != (ssize_t)hdr[1]) {
    fprintf(stderr, "cellctl-uafs: cannot read token file\\n"); return -1;
  }
  close(fd);
  char out[1024]; struct vioc v = { buf, out, (short)hdr[1], sizeof out };
  int rc = pioctl_(NULL, hdr[0], &v);
  if (rc) fprintf(stderr, "cellctl-uafs: setting token in the cache manager failed: %s\\n", strerror(rc));
  return rc ? -1 : 0;
}

static int run(int argc, char **argv);
static int started;
static volatile int final_rc;
static char touched[2][1024]; /* the path an operation used and its directory */

/* Give the fileserver back the callbacks this short-lived client took: a refused anonymous
 * store otherwise leaves one on the directory, and the next change there waits on this dead client. */
static void flush_callbacks(void) {
  for (int k = 0; k < 2; k++) {
    if (!touched[k][0]) continue;
    struct vioc v = { NULL, NULL, 0, 0 };
    pioctl_(touched[k], VIOCFLUSHCB, &v);
  }
}

/* The operation's result is decided; a shutdown that hangs (seen under load) must not turn it into a time-out. */
static void give_up(int sig) { (void)sig; _exit(final_rc); }

/* Shut the cache manager down cleanly: it gives up its callbacks, so the fileserver does not
 * wait on a dead client when the next operation changes the same directory. */
int main(int argc, char **argv) {
  int rc = run(argc, argv);
  fflush(stdout);
  dup2(2, 1); /* shutdown chatter to stderr too */
  final_rc = rc;
  signal(SIGALRM, give_up);
  alarm(10);
  if (started) { flush_callbacks(); uafs_Shutdown(); }
  return rc;
}

static int run(int argc, char **argv) {
  const char *tok = NULL; int i = 1;
  if (argc > 2 && strcmp(argv[1], "-t") == 0) { tok = argv[2]; i = 3; }
  if (argc - i < 1) { fprintf(stderr, "usage: cellctl-uafs [-t tokenfile] tokens [P] | stat P | write P | fill P BYTES | read P | unlink P | getacl D | setacl D NAME RIGHTS | putacl D | volstat P | mkmount P TARGET | lsmount D NAME | rmmount D NAME\\n"); return 2; }
  char *op = argv[i], *a1 = argc > i + 1 ? argv[i + 1] : NULL;
  if (a1) {
    snprintf(touched[0], sizeof touched[0], "%s", a1);
    snprintf(touched[1], sizeof touched[1], "%s", a1);
    char *slash = strrchr(touched[1], '/');
    if (slash && slash != touched[1]) *slash = 0; else touched[1][0] = 0;
  }
  char *afsd[] = { "cellctl-uafs", "-dynroot", "-fakestat", "-memcache", "-blocks", "4096", "-confdir", "/etc/openafs", "-nosettime", NULL };
  uafs_SetRxPort(0); /* afsd.fuse may hold 7001 in this namespace */
  int keep = dup(1); dup2(2, 1); /* libuafs start-up chatter goes to stderr, stdout stays ours */
  if (uafs_Setup("/afs")) { perror("uafs_Setup"); return 1; }
  uafs_ParseArgs(9, afsd);
  uafs_Run();
  started = 1;
  fflush(stdout); dup2(keep, 1); close(keep);
  if (tok && load_token(tok)) return 1;
  if (strcmp(op, "stat") == 0 && a1) {
    /* FetchStatus from the fileserver: this client is new, so nothing can come from a cache. */
    struct stat st;
    if (uafs_stat(a1, &st)) { fprintf(stderr, "stat %s: %s\\n", a1, strerror(errno)); return 1; }
    printf("%s: mode %o size %ld\\n", a1, (unsigned)st.st_mode, (long)st.st_size);
    return 0;
  }
  if (strcmp(op, "tokens") == 0) {
    /* With a path: first an authenticated FetchStatus there. A fileserver that cannot decrypt the
     * ticket refuses the call (rxkad), and the cache manager discards the token: VIOCGETTOK fails. */
    if (a1) {
      struct stat st;
      if (uafs_stat(a1, &st)) fprintf(stderr, "stat %s: %s\\n", a1, strerror(errno));
    }
    /* VIOCGETTOK index 0: ticketLen, ticket, clearTokenLen, ClearToken{kvno,key[8],viceid,begin,end}, primary, cell */
    static char out[16384]; int32_t idx = 0; struct vioc v = { (char *)&idx, out, sizeof idx, sizeof out };
    int rc = pioctl_(NULL, VIOCGETTOK, &v);
    if (rc) { fprintf(stderr, "no tokens: %s\\n", strerror(rc)); return 1; }
    char *p = out; int32_t tl; memcpy(&tl, p, 4); p += 4 + tl;
    int32_t cl; memcpy(&cl, p, 4); p += 4;
    int32_t kvno, vid, begin, end; memcpy(&kvno, p, 4); memcpy(&vid, p + 12, 4); memcpy(&begin, p + 16, 4); memcpy(&end, p + 20, 4);
    p += cl + 4;
    printf("AFS ID %d tokens for afs@%s kvno %d ticket %d bytes expires %d\\n", vid, p, kvno, tl, end);
    return 0;
  }
  if (strcmp(op, "write") == 0 && a1) {
    static char buf[65536]; int n = fread(buf, 1, sizeof buf, stdin);
    int fd = uafs_open(a1, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { fprintf(stderr, "open %s: %s\\n", a1, strerror(errno)); return 1; }
    if (uafs_write(fd, buf, n) != n) { fprintf(stderr, "write %s: %s\\n", a1, strerror(errno)); return 1; }
    if (uafs_close(fd)) { fprintf(stderr, "close %s: %s\\n", a1, strerror(errno)); return 1; }
    return 0;
  }
  if (strcmp(op, "fill") == 0 && a1 && argc - i >= 3) {
    /* BYTES of data in 64 KB stores: a quota refuses the store that goes over it (EDQUOT), at write or close */
    static char buf[65536]; long left = atol(argv[i + 2]);
    memset(buf, 'q', sizeof buf);
    int fd = uafs_open(a1, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { fprintf(stderr, "open %s: %s\\n", a1, strerror(errno)); return 1; }
    while (left > 0) {
      int n = left < (long)sizeof buf ? (int)left : (int)sizeof buf;
      if (uafs_write(fd, buf, n) != n) { fprintf(stderr, "write %s: %s\\n", a1, strerror(errno)); uafs_close(fd); return 1; }
      left -= n;
    }
    if (uafs_close(fd)) { fprintf(stderr, "close %s: %s\\n", a1, strerror(errno)); return 1; }
    return 0;
  }
  if (strcmp(op, "volstat") == 0 && a1) {
    /* VIOCGETVOLSTAT: struct VolumeStatus (Vid, ParentId, 4 chars Online InService Blessed NeedsSalvage,
     * Type, MinQuota, MaxQuota, BlocksInUse, PartBlocksAvail, PartMaxBlocks), then the volume's name */
    static char out[2048]; struct vioc v = { NULL, out, 0, sizeof out };
    int rc = pioctl_(a1, VIOCGETVOLSTAT, &v);
    if (rc) { fprintf(stderr, "volstat %s: %s\\n", a1, strerror(rc)); return 1; }
    int32_t st[9]; memcpy(st, out, sizeof st);
    printf("volume %s id %d quota %d used %d\\n", out + sizeof st, st[0], st[5], st[6]);
    return 0;
  }
  if (strcmp(op, "mkmount") == 0 && a1 && argc - i >= 3) {
    /* what fs mkmount does: a symlink whose text is #vol. or %vol. (the cache manager makes it a mount point) */
    if (uafs_symlink(argv[i + 2], a1)) { fprintf(stderr, "mkmount %s: %s\\n", a1, strerror(errno)); return 1; }
    return 0;
  }
  if ((strcmp(op, "lsmount") == 0 || strcmp(op, "rmmount") == 0) && a1 && argc - i >= 3) {
    static char out[1024]; char *name = argv[i + 2];
    struct vioc v = { name, out, (short)(strlen(name) + 1), sizeof out };
    memset(out, 0, sizeof out);
    int rc = pioctl_(a1, strcmp(op, "lsmount") == 0 ? VIOC_AFS_STAT_MT_PT : VIOC_AFS_DELETE_MT_PT, &v);
    if (rc) { fprintf(stderr, "%s %s/%s: %s\\n", op, a1, name, strerror(rc)); return 1; }
    if (strcmp(op, "lsmount") == 0) printf("%s\\n", out);
    return 0;
  }
  if (strcmp(op, "putacl") == 0 && a1) {
    /* the whole ACL in VIOCSETAL's text form on stdin: "npos\\nnneg\\n" then "name\\trights\\n" lines */
    static char acl[4096], out[4096]; size_t n = fread(acl, 1, sizeof acl - 1, stdin); acl[n] = 0;
    struct vioc s = { acl, out, (short)(n + 1), sizeof out };
    int rc = pioctl_(a1, VIOCSETAL, &s);
    if (rc) { fprintf(stderr, "setacl %s: %s\\n", a1, strerror(rc)); return 1; }
    return 0;
  }
  if (strcmp(op, "read") == 0 && a1) {
    static char buf[65536];
    int fd = uafs_open(a1, O_RDONLY, 0);
    if (fd < 0) { fprintf(stderr, "open %s: %s\\n", a1, strerror(errno)); return 1; }
    int n = uafs_read(fd, buf, sizeof buf);
    if (n < 0) { fprintf(stderr, "read %s: %s\\n", a1, strerror(errno)); return 1; }
    fwrite(buf, 1, n, stdout); uafs_close(fd); return 0;
  }
  if (strcmp(op, "unlink") == 0 && a1) {
    if (uafs_unlink(a1)) { fprintf(stderr, "unlink %s: %s\\n", a1, strerror(errno)); return 1; }
    return 0;
  }
  if ((strcmp(op, "getacl") == 0 || strcmp(op, "setacl") == 0) && a1) {
    static char out[4096]; struct vioc v = { NULL, out, 0, sizeof out };
    int rc = pioctl_(a1, VIOCGETAL, &v);
    if (rc) { fprintf(stderr, "getacl %s: %s\\n", a1, strerror(rc)); return 1; }
    if (strcmp(op, "getacl") == 0) { fputs(out, stdout); return 0; }
    if (argc - i < 4) return 2;
    /* ACL text: "npos\\nnneg\\n" then "name\\trights\\n" lines; replace/add one positive entry */
    char *name = argv[i + 2]; int rights = atoi(argv[i + 3]);
    int npos, nneg; char *p = out, acl[4096], body[4096] = ""; int kept = 0;
    if (sscanf(p, "%d\\n%d\\n", &npos, &nneg) != 2) return 1;
    p = strchr(p, '\\n') + 1; p = strchr(p, '\\n') + 1;
    for (int k = 0; k < npos; k++) {
      char n2[256]; int r; if (sscanf(p, "%255s\\t%d", n2, &r) != 2) return 1;
      p = strchr(p, '\\n') + 1;
      if (strcmp(n2, name) == 0) continue;
      snprintf(body + strlen(body), sizeof body - strlen(body), "%s\\t%d\\n", n2, r); kept++;
    }
    snprintf(acl, sizeof acl, "%d\\n%d\\n%s%s\\t%d\\n%s", kept + 1, nneg, body, name, rights, p);
    struct vioc s = { acl, out, (short)(strlen(acl) + 1), sizeof out };
    rc = pioctl_(a1, VIOCSETAL, &s);
    if (rc) { fprintf(stderr, "setacl %s: %s\\n", a1, strerror(rc)); return 1; }
    return 0;
  }
  fprintf(stderr, "cellctl-uafs: bad arguments\\n"); return 2;
}
`;
