#!/bin/busybox sh
# The guest's /init (lab/linux/image.ts packs it). Settings arrive as nt_* variables from the kernel command line
# (the kernel hands unknown key=value words to init's environment). Reports go to /dev/ttyS1, the host's pipe,
# framed by "@@ NAME" lines; the console (ttyS0) is the kernel log. The guest never has a route out: its only
# interface is the one the host gave it, with one address and no gateway.
/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp /mnt /run
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
# ttyS1 stays open on fd 3 for the guest's whole life: a tty nobody holds open drops what the host sends.
exec 3<>/dev/ttyS1
stty raw -echo <&3 2>/dev/null
say() { echo "$*" >&3; }
finish() { say "@@ end rc=$1"; sync; poweroff -f; }

for m in $(cat /modules.order); do
  insmod "/lib/modules/$m" || { say "@@ error insmod $m failed"; finish 1; }
done
ip link set lo up
# eth0 (virtio-net) under QEMU, vec0 (the vector driver) under UML: nt_if names it.
ip addr add "$nt_ip/24" dev "$nt_if" && ip link set "$nt_if" up || { say "@@ error no $nt_if"; finish 1; }
say "@@ booted uptime=$(cut -d' ' -f1 /proc/uptime)"

tracing() {
  T=/sys/kernel/tracing
  # tracefs since 4.1; older kernels have the tracing folder in debugfs only
  mount -t tracefs tracefs $T 2>/dev/null || { mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null && T=/sys/kernel/debug/tracing; }
  [ -d $T/events/sunrpc ] || { say "@@ note no sunrpc tracepoints in this kernel"; return; }
  echo 4096 > $T/buffer_size_kb
  for e in xprt_transmit xprt_retransmit rpc_timeout_status xprt_complete_rqst xprt_timer rpc_task_begin \
           rpc_task_end xs_stream_read_request xprt_reserve_xprt xprt_release_xprt rpc_call_status rpc_xdr_sendto \
           xs_connect xprt_disconnect_auto xprt_disconnect_done; do
    [ -d $T/events/sunrpc/$e ] && echo 1 > $T/events/sunrpc/$e/enable
  done
  echo 1 > $T/tracing_on
}

client() {
  [ "$nt_trace" = 0 ] || tracing
  t0=$(cut -d' ' -f1 /proc/uptime)
  # nt_wmem: the initial send buffer of new TCP sockets (tcp_init_sock takes tcp_wmem[1]; sunrpc's socket is made
  # at mount), so a whole retransmitted WRITE fits in the socket behind a closed window (lab/linux/seed-order.ts).
  [ "${nt_wmem:-0}" = 0 ] || echo "4096 $nt_wmem $nt_wmem" > /proc/sys/net/ipv4/tcp_wmem
  nfsmount "$nt_server:$nt_export" /mnt "vers=3,proto=tcp,port=$nt_port,mountport=$nt_mountport,mountproto=tcp,nolock,addr=$nt_server,mountaddr=$nt_server,$nt_opts" 2> /tmp/mount.err \
    || { say "@@ error mount: $(cat /tmp/mount.err)"; finish 1; }
  say "@@ mounted uptime=$(cut -d' ' -f1 /proc/uptime) started=$t0"
  say "@@ blktest"
  blktest2 "/mnt/$nt_file" "$nt_bs" "$nt_count" "$nt_scribble" "$nt_port" >&3 2>&1
  rc=$?
  say "@@ mountstats"
  cat /proc/self/mountstats >&3
  say "@@ netstat"
  cat /proc/net/snmp >&3
  if [ -n "$T" ] && [ -f $T/trace ] && [ -d $T/events/sunrpc ]; then
    echo 0 > $T/tracing_on
    say "@@ trace"
    grep -v '^#' $T/trace >&3
  fi
  umount /mnt 2>/dev/null
  finish $rc
}

nfsd() {
  mkdir -p /export /var/lib/nfs/v4recovery /var/lib/nfs/rpc_pipefs /run/rpcbind /etc
  mount -t tmpfs -o "size=$nt_size,mode=0777" tmpfs /export || { say "@@ error export tmpfs"; finish 1; }
  mount -t nfsd nfsd /proc/fs/nfsd || { say "@@ error nfsd fs"; finish 1; }
  # As an admin sets it before nfsd starts (fs/nfsd/nfsctl.c write_maxblksize: -EBUSY once nfsd runs).
  if [ -n "$nt_maxblk" ]; then echo "$nt_maxblk" > /proc/fs/nfsd/max_block_size || { say "@@ error max_block_size $nt_maxblk"; finish 1; }; fi
  : > /var/lib/nfs/etab; : > /var/lib/nfs/rmtab
  # insecure: connections arrive through QEMU's forward from unprivileged host ports; fsid: tmpfs has no UUID.
  echo "/export *(rw,sync,no_subtree_check,no_root_squash,insecure,fsid=1)" > /etc/exports
  rpcbind -w -f > /tmp/rpcbind.log 2>&1 &
  sleep 0.2
  exportfs -ra || { say "@@ error exportfs"; finish 1; }
  rpc.mountd -p 20048 -N 4 > /tmp/mountd.log 2>&1 || { say "@@ error rpc.mountd $(cat /tmp/mountd.log)"; finish 1; }
  rpc.nfsd -N 4 -p 2049 "$nt_threads" 2> /tmp/nfsd.err || { say "@@ error rpc.nfsd: $(cat /tmp/nfsd.err)"; finish 1; }
  say "@@ ready versions=$(cat /proc/fs/nfsd/versions | tr ' ' ',') maxblksize=$(cat /proc/fs/nfsd/max_block_size) uptime=$(cut -d' ' -f1 /proc/uptime)"
  # Commands from the host, one a line: stats (reply cache), log (kernel log tail), poweroff.
  while read -r cmd <&3; do
    case "$cmd" in
      stats) say "@@ stats"; cat /proc/fs/nfsd/reply_cache_stats >&3; say "@@ stats-end" ;;
      log) say "@@ log"; dmesg | tail -n 50 >&3; say "@@ log-end" ;;
      poweroff) finish 0 ;;
    esac
  done
  finish 0
}

case "$nt_role" in
  client) client ;;
  nfsd) nfsd ;;
  *) say "@@ error unknown role $nt_role"; finish 1 ;;
esac
