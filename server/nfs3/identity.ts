// Who a call acts as: the AUTH_SYS credential mapped as Linux nfsd_setuser (fs/nfsd/auth.c) maps it for an
// export. all_squash makes everyone the anonymous user (no supplementary groups); root_squash maps uid 0 to the
// anonymous uid, gid 0 to the anonymous gid, and 0 among the groups to the anonymous gid; AUTH_NONE (and an
// AUTH_SYS id of -1, which make_kuid turns into INVALID_UID) is the anonymous user too. nfsd then keeps the
// file-system capabilities (CAP_NFSD_SET: DAC override, chown, fowner, fsetid ...) only when the resulting
// fsuid is 0, so that is what `capable` says: a squashed root is an ordinary user.
import type { AuthSys } from '../../xdr/rpc';

/** exports(5) identity options of the export. */
export interface SquashPolicy {
  /** root_squash: uid/gid 0 become the anonymous ids (exports(5) default; this server's default is off) */
  rootSquash: boolean;
  /** all_squash: every uid and gid becomes the anonymous ids */
  allSquash: boolean;
  /** anonuid/anongid (default 65534, "nobody") */
  anonUid: number;
  anonGid: number;
}

export const DEFAULT_SQUASH: Readonly<SquashPolicy> = Object.freeze({ rootSquash: false, allSquash: false, anonUid: 65534, anonGid: 65534 });

export interface Identity {
  uid: number;
  gid: number;
  gids: readonly number[];
  /** fsuid 0: nfsd raises CAP_NFSD_SET (cap_raise_nfsd_set), every other fsuid drops it */
  capable: boolean;
}

/** INVALID_UID / INVALID_GID: (uid_t)-1 */
const INVALID = 0xffffffff;

/** nfsd_setuser: the identity `auth` (undefined for AUTH_NONE) acts as on an export with policy `p`. */
export function identityOf(auth: AuthSys | undefined, p: SquashPolicy): Identity {
  let uid = auth ? auth.uid : INVALID;
  let gid = auth ? auth.gid : INVALID;
  let gids: readonly number[] = auth ? auth.gids : [];
  if (p.allSquash) {
    uid = p.anonUid;
    gid = p.anonGid;
    gids = [];
  } else if (p.rootSquash) {
    if (uid === 0) uid = p.anonUid;
    if (gid === 0) gid = p.anonGid;
    gids = gids.map((g) => (g === 0 ? p.anonGid : g));
  }
  if (uid === INVALID) uid = p.anonUid;
  if (gid === INVALID) gid = p.anonGid;
  return { uid, gid, gids, capable: uid === 0 };
}

/** in_group_p: the fsgid or one of the supplementary groups. */
export const inGroup = (who: Identity, gid: number): boolean => who.gid === gid || who.gids.includes(gid);
