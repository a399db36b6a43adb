// The guest side of the agent: a busybox sh loop on a virtio-serial port (the NixOS test driver's
// "backdoor shell" idea, with framing so that any bytes in or out are safe).
//
// Host -> guest, per request:
//   "CELLCTL-Q <id> <op> <scriptLen> <stdinLen> <timeoutMs>\n" <script bytes> <stdin bytes> "CELLCTL-E <id>\n"
//   op is ping | exec | poweroff. The end line proves the payload arrived whole: a request cut
//   short (the host went away mid-send) is dropped, never run.
// Guest -> host, per request:
//   "CELLCTL-R <id> <exit> <flag> <base64 stdout> <base64 stderr>\n"
//   flag is "-" or "timeout" (the command's process group was killed after timeoutMs); a relay
//   between host and agent (a Xen domU's, say) answers "undelivered" when it could not reach the
//   agent, with its reason as stderr: the request did not run.
// A command runs as its own session (setsid), its stdin/stdout/stderr are files and the port's
// fd is closed in it, so nothing it prints or leaves running can reach the channel.
//
// Under TCG every exec costs ~15 ms, so the loop calls applets by bare name: this busybox runs
// them in-process or forks without exec (standalone shell), and uses no command substitution.

export const AGENT_PORT = 'org.cellctl.agent';
export const GUEST_RUN_DIR = '/run/cellctl'; // tmpfs in the guest: busybox, agent, per-request files
export const GUEST_BUSYBOX = `${GUEST_RUN_DIR}/busybox`;
export const REQUEST_TAG = 'CELLCTL-Q';
export const END_TAG = 'CELLCTL-E';
export const REPLY_TAG = 'CELLCTL-R';
export const UNDELIVERED_FLAG = 'undelivered';
export type AgentOp = 'ping' | 'exec' | 'poweroff';

/** Fills @@NAME@@ placeholders; a placeholder left unfilled is a bug in this file, so it throws. */
export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/@@([A-Z_]+)@@/g, (_, k: string) => {
    if (!(k in values)) throw new Error(`template value ${k} missing`);
    return values[k]!;
  });
}

const AGENT = `# cellctl guest agent (generated; see src/drivers/vm/guest-agent.ts)
WORK=@@RUN@@/agent
say() { read -r up _ </proc/uptime; echo "cellctl-agent: [$up] $*" >/dev/console; }
mkdir -p $WORK
echo $$ >@@RUN@@/agent.pid
# nap SECS: a read with a timeout on a fifo nobody writes: waits without forking a sleep
rm -f $WORK/.idle
mkfifo $WORK/.idle
exec 4<>$WORK/.idle
nap() { read -r -t $1 _ <&4; }
@@OPEN@@

# take ID N NAME: the next N bytes of the request into $w/NAME (dd with count_bytes+fullblock
# reads exactly N; head -c would read ahead into what follows)
take() {
  if [ "$2" = 0 ]; then : >$w/$3; else dd bs=65536 count=$2 iflag=count_bytes,fullblock of=$w/$3 <&3 2>/dev/null; fi
}

# reply ID EXIT FLAG: $w/out and $w/err, base64
reply() {
  {
    printf '@@REPLY@@ %s %s %s ' $1 $2 $3
    [ -s $w/out ] && base64 -w 0 $w/out
    printf ' '
    [ -s $w/err ] && base64 -w 0 $w/err
    printf '\\n'
  } >&3
}

# run ID TIMEOUT_MS: the script in a subshell (no exec: the script ends by exec'ing the command,
# through setsid when it should be a session of its own); a watchdog kills the command's process
# group (or, before setsid ran, the process) once the timeout has passed
run() {
  ( . $w/script ) <$w/in >$w/out 2>$w/err 3>&- 4>&- &
  pid=$!
  secs=$(($2 / 1000)).$(($2 % 1000 / 100))$(($2 % 100 / 10))$(($2 % 10))
  (
    trap 'kill $s 2>/dev/null; exit 0' TERM
    sleep $secs &
    s=$!
    wait $s
    { kill -KILL -$pid || kill -KILL $pid; } 2>/dev/null && : >$w/timedout
  ) </dev/null >/dev/null 2>&1 3>&- 4>&- &
  wd=$!
  wait $pid
  rc=$?
  kill $wd 2>/dev/null
  wait $wd
  flag=-
  [ -e $w/timedout ] && flag=timeout
  reply $1 $rc $flag
}

while :; do
  # EOF: the host is not connected (virtio port), or the connection ended (see AgentChannel)
  if ! read -r tag id op n1 n2 tmo <&3; then @@ON_EOF@@; fi
  [ "$tag" = @@REQUEST@@ ] || continue
  case "$id$n1$n2$tmo" in ''|*[!0-9]*) say "malformed request header ignored"; continue ;; esac
  w=$WORK/$id
  rm -rf $w
  mkdir -p $w
  take $id $n1 script
  take $id $n2 in
  end=; eid=
  read -r end eid <&3
  if [ "$end" != @@END@@ ] || [ "$eid" != "$id" ]; then
    say "request $id incomplete (host went away mid-send?); dropped"
    rm -rf $w
    continue
  fi
  : >$w/out
  : >$w/err
  case $op in
    ping) reply $id 0 - ;;
    exec) run $id $tmo ;;
    poweroff)
      reply $id 0 -
      say "poweroff requested"
      @@BB@@ sync
      @@BB@@ poweroff -f
      ;;
    *) echo "unknown op $op" >$w/err; reply $id 127 - ;;
  esac
  rm -rf $w
  @@AFTER@@
done
`;

/**
 * Where the agent's requests come from: by default the virtio-serial port, polled while the host
 * is not connected (it reads EOF then). Another channel (a socket handed over on stdin by an
 * inetd-style listener, say) gives its own sh: `open` makes fd 3 the channel, `onEof` runs when a
 * read finds none, `oneShot` ends the agent after one request.
 */
export interface AgentChannel {
  open: string;
  onEof: string;
  oneShot?: boolean;
}

const VIRTIO_PORT_CHANNEL: AgentChannel = {
  open: `PORT=/dev/virtio-ports/${AGENT_PORT}
n=0
while [ ! -e $PORT ]; do
  n=$((n + 1)); [ $n = 50 ] && say "waiting for $PORT (no such virtio port yet)"
  nap 0.1
done
exec 3<>$PORT
say "ready on $PORT"`,
  onEof: 'nap 0.2; continue',
};

export function agentScript(channel: AgentChannel = VIRTIO_PORT_CHANNEL): string {
  const values = { BB: GUEST_BUSYBOX, RUN: GUEST_RUN_DIR, REPLY: REPLY_TAG, REQUEST: REQUEST_TAG, END: END_TAG };
  return fill(AGENT, { ...values, OPEN: channel.open, ON_EOF: channel.onEof, AFTER: channel.oneShot ? 'exit 0' : ':' });
}
