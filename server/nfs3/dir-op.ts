// The shape CREATE, MKDIR, SYMLINK and MKNOD share (RFC 1813 §3.3.8-§3.3.11): resolve the directory, check the
// name, act, answer the new object's handle and attributes plus the directory's wcc_data. Failures keep the
// directory's wcc_data so the client's cache stays right.
import fs from 'node:fs';
import type { CreateRes, DirOpArgs } from '../../xdr/nfs3/types';
import type { CallContext } from '../rpc/program';
import { Nfs3Export, checkName, nfsError } from './context';

export async function createIn(
  x: Nfs3Export,
  ctx: CallContext,
  where: DirOpArgs,
  act: (abs: string, rel: string) => Promise<void>,
): Promise<CreateRes> {
  const dir = await x.resolveDir(where.dir);
  ctx.note.path = dir.rel;
  try {
    checkName(where.name, 'create');
    const { rel, abs } = x.child(dir, where.name);
    await act(abs, rel);
    // Root squash: what squashed root creates belongs to the anonymous id, not to the server's user.
    if (ctx.squashed && ctx.auth) await fs.promises.lchown(abs, ctx.auth.uid, ctx.auth.gid);
    const made = await x.describe(rel, abs);
    return { status: 0, obj: made.fh, objAttributes: made.attrs, dirWcc: await x.wcc(dir.abs, dir.stats) };
  } catch (e) {
    return { status: nfsError(e).status, dirWcc: await x.wcc(dir.abs, dir.stats) } as CreateRes;
  }
}

export const createFail = (status: number): CreateRes => ({ status, dirWcc: {} }) as CreateRes;

/** Applies the attributes a create carried, on the object just made. */
export async function applyInitial(x: Nfs3Export, abs: string, attrs: Parameters<Nfs3Export['applySattr']>[2]): Promise<void> {
  const rest = { ...attrs, mode: undefined };
  if (Object.values(rest).some((v) => v !== undefined)) await x.applySattr(abs, await fs.promises.lstat(abs, { bigint: true }), rest);
}
