// MOUNT v3 (RFC 1813 Appendix I): MNT hands out the export's root handle (or a subdirectory's, reached from the
// root's descriptor without following symlinks), EXPORT lists the one export, DUMP/UMNT/UMNTALL keep the
// advisory mount list.
import fs from 'node:fs';
import path from 'node:path';
import { MOUNT3, MOUNT_PROGRAM, MOUNT_V3, MOUNTSTAT3, type MntRes, type MountEntry } from '../../xdr/mount';
import { O_NOFOLLOW, O_PATH, atPath, closeQuietly, fstatBig, openAsync } from '../fs-at';
import { AUTH_FLAVOR } from '../../xdr/rpc';
import type { FileHandles } from '../handles';
import { Program, procedures } from '../rpc/program';

export function mountProgram(handles: FileHandles, exportPath: string): Program {
  const mounts: MountEntry[] = [];

  async function mnt(dirpath: string): Promise<MntRes> {
    const norm = path.posix.normalize(dirpath).replace(/\/+$/, '') || '/';
    if (norm !== exportPath && !norm.startsWith(exportPath + '/')) return { status: MOUNTSTAT3.MNT3ERR_NOENT };
    const parts = norm.slice(exportPath.length).split('/').filter(Boolean);
    if (parts.includes('..')) return { status: MOUNTSTAT3.MNT3ERR_ACCES };
    // The exported directory was removed (or another put in its place) since the server started: nothing is
    // exported under this path any more, as mountd finds when the path no longer resolves (MNT3ERR_NOENT).
    if (!(await rootStillExported())) return { status: MOUNTSTAT3.MNT3ERR_NOENT };
    let rel = '';
    let fd = handles.rootFd;
    try {
      let st = await fstatBig(fd);
      for (const p of parts) {
        rel = rel ? `${rel}/${p}` : p;
        let next: number;
        try {
          next = await openAsync(atPath(fd, p), O_PATH | O_NOFOLLOW);
        } catch {
          return { status: MOUNTSTAT3.MNT3ERR_NOENT };
        }
        if (fd !== handles.rootFd) closeQuietly(fd);
        fd = next;
        st = await fstatBig(fd);
        // A symlink on the way is never followed: it could lead out of the export.
        if (!st.isDirectory()) return { status: st.isSymbolicLink() ? MOUNTSTAT3.MNT3ERR_ACCES : MOUNTSTAT3.MNT3ERR_NOTDIR };
      }
      return { status: 0, fhandle: handles.make(rel, st), authFlavors: [AUTH_FLAVOR.AUTH_SYS, AUTH_FLAVOR.AUTH_NONE] };
    } finally {
      if (fd !== handles.rootFd) closeQuietly(fd);
    }
  }

  /** The export path on disk still names the directory the server holds, and that one is not removed. */
  async function rootStillExported(): Promise<boolean> {
    try {
      const held = await fstatBig(handles.rootFd);
      const named = await fs.promises.lstat(handles.root, { bigint: true });
      return held.nlink > 0n && named.ino === held.ino && named.dev === held.dev;
    } catch {
      return false;
    }
  }

  const v3 = procedures([
    { codec: MOUNT3.NULL, run: () => undefined },
    {
      codec: MOUNT3.MNT,
      async run(ctx, a: { dirpath: string }) {
        handles.enter();
        let res: MntRes;
        try {
          res = await mnt(a.dirpath);
        } finally {
          handles.leave();
        }
        if (res.status === 0) mounts.push({ hostname: ctx.auth?.machinename || ctx.conn.remoteAddress, directory: a.dirpath });
        return res;
      },
    },
    { codec: MOUNT3.DUMP, run: () => mounts.slice() },
    {
      codec: MOUNT3.UMNT,
      run(ctx, a: { dirpath: string }) {
        const host = ctx.auth?.machinename || ctx.conn.remoteAddress;
        const i = mounts.findIndex((m) => m.hostname === host && m.directory === a.dirpath);
        if (i >= 0) mounts.splice(i, 1);
      },
    },
    {
      codec: MOUNT3.UMNTALL,
      run(ctx) {
        const host = ctx.auth?.machinename || ctx.conn.remoteAddress;
        for (let i = mounts.length - 1; i >= 0; i--) if (mounts[i].hostname === host) mounts.splice(i, 1);
      },
    },
    { codec: MOUNT3.EXPORT, run: () => [{ dir: exportPath, groups: [] }] },
  ]);
  return { prog: MOUNT_PROGRAM, name: 'MOUNT', versions: new Map([[MOUNT_V3, v3]]) };
}
