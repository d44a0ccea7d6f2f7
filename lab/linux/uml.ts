// The user-mode-linux runner's command lines (lab/linux/qemu.ts's Guest spawns them). UML is the kernel built as a
// host program (ARCH=um): no emulation, its own process tree, stopped by its PID with SIGKILL after the grace
// period (it ignores SIGTERM, measured here), powered off with `poweroff -f` (`reboot -f` restarts it: main()
// in arch/um/os-Linux/main.c re-executes the binary when the kernel asks for a restart).
//
// Consoles: the ssl driver's lines are /dev/ttyS<n> (arch/um/drivers/ssl.c, "ttyS"), so the guest's /init
// writes its reports to ttyS1 and the kernel log goes to ttyS0 as under QEMU. ttyS0 is `null,fd:3` (no input,
// output to the console log the runner opens as fd 3), ttyS1 is `fd:0,fd:1` (the runner's pipes); the con
// driver's ttys (con=null) and every other serial line (ssl=null) are not connected.
//
// Networks, one vector device (arch/um/drivers/vector_kern.c, built into Debian's UML), named vec0 in the guest:
//  - tap (root): `transport=tap,ifname=T`, the tap of the namespace lab/linux/netns.ts made; UML runs inside it;
//  - user (no root): UML alone has nothing that reaches only 127.0.0.1 (its slirp transport runs a slirp with
//    no restrict; tuntap, raw and hybrid need CAP_NET_ADMIN/CAP_NET_RAW; mcast leaves the loopback range). So the
//    run starts a second process, QEMU with no machine (`-machine none`), whose user networking (slirp,
//    restrict=on, the same forwards as a QEMU guest's) is joined by an emulated hub to an L2TPv3-over-UDP netdev
//    on 127.0.0.1; UML's `transport=l2tpv3` is the other end (both ends are Anton Ivanov's, written to
//    interoperate; arch/um/drivers/vector_user.c user_init_l2tpv3_fds, QEMU net/l2tpv3.c). Every datagram is
//    127.0.0.1 to 127.0.0.1, and the guest's network is slirp with restrict=on: no route out.
import dgram from 'node:dgram';
import { QEMU, userNetdev, type GuestCommand, type GuestLaunch } from './qemu';

/** The guest's interface name (vec<N> for the vector driver). */
export const UML_IF = 'vec0';
/** The L2TPv3 session both ends use (one tunnel per run, on ports of its own). */
const L2TP_SESSION = 1;

/** A free UDP port on 127.0.0.1 (closed again before QEMU or UML binds it). */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    s.once('error', reject);
    s.bind({ address: '127.0.0.1', port: 0 }, () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** The UDP ports of the tunnel between the slirp process (QEMU) and UML, chosen before either starts. */
export interface UmlTunnel {
  qemuPort: number;
  umlPort: number;
}

export async function umlTunnel(): Promise<UmlTunnel> {
  return { qemuPort: await freeUdpPort(), umlPort: await freeUdpPort() };
}

/** UML's command line. The console log is fd 3 of the UML process. */
export function umlCommand(l: GuestLaunch, cmdline: string[], tunnel?: UmlTunnel): GuestCommand {
  let vec: string;
  if (l.net.mode === 'tap') vec = `vec0:transport=tap,ifname=${l.net.ifname},gro=1`;
  else {
    if (!tunnel) throw new Error('umlCommand: the user arrangement needs a tunnel');
    vec = `vec0:transport=l2tpv3,udp=1,src=127.0.0.1,dst=127.0.0.1,srcport=${tunnel.umlPort},dstport=${tunnel.qemuPort},rx_session=${L2TP_SESSION},tx_session=${L2TP_SESSION}`;
  }
  const argv = [
    `mem=${l.memMiB}M`, `initrd=${l.image.initrd}`, 'con=null', 'ssl=null', 'ssl0=null,fd:3', 'ssl1=fd:0,fd:1', vec,
    'console=ttyS0', ...cmdline,
  ];
  const exe = l.image.kernel.image;
  return l.net.mode === 'tap' ? { cmd: 'ip', argv: ['netns', 'exec', l.net.netns, exe, ...argv] } : { cmd: exe, argv };
}

/** The slirp side of the user arrangement: QEMU without a machine, its user netdev hubbed to the tunnel. */
export function slirpBridgeCommand(l: GuestLaunch, tunnel: UmlTunnel): GuestCommand {
  if (l.net.mode !== 'user') throw new Error('slirpBridgeCommand: only for the user arrangement');
  return {
    cmd: QEMU,
    argv: [
      '-machine', 'none', '-nodefaults', '-no-user-config', '-display', 'none', '-monitor', 'none',
      '-netdev', userNetdev('u0', l.net),
      '-netdev', `l2tpv3,id=t0,src=127.0.0.1,dst=127.0.0.1,udp=on,srcport=${tunnel.qemuPort},dstport=${tunnel.umlPort},txsession=${L2TP_SESSION},rxsession=${L2TP_SESSION}`,
      '-netdev', 'hubport,id=h0,hubid=0,netdev=u0',
      '-netdev', 'hubport,id=h1,hubid=0,netdev=t0',
    ],
  };
}
