// The map is the design card (STYLE.md): the layers below the edges never import the edges. Every import of every
// source file is read with the TypeScript scanner and its top-level folder checked against the rules below; a
// new import that breaks them fails here, whatever the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.join(__dirname, '..', '..');
/** The model and the wire: nothing here may know who drives it. */
const CORE = ['core', 'xdr', 'client', 'server', 'netem', 'captures'];
const EDGE_PACKAGES = ['@hapi/hapi', 'joi', 'commander', 'cli-progress'];

/** folder -> top-level folders it must not import (test/ may import anything). */
const FORBIDDEN: Record<string, readonly string[]> = {
  ...Object.fromEntries(CORE.map((d) => [d, ['lab', 'api', 'cli', 'bench', 'testing', 'test']])),
  api: ['cli', 'bench', 'testing', 'test'],
  lab: ['cli', 'bench', 'test'],
  bench: ['cli', 'test'],
  cli: ['bench', 'testing', 'test'],
  testing: ['lab', 'api', 'cli', 'bench', 'test'],
};

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(rel));
    else if (e.name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

/** Every module specifier a file imports, requires or re-exports. */
function imports(file: string): string[] {
  const info = ts.preProcessFile(fs.readFileSync(path.join(ROOT, file), 'utf8'), true, true);
  return info.importedFiles.map((f) => f.fileName);
}

/** The top-level folder a relative specifier lands in, or the package name of a bare one. */
function target(file: string, spec: string): { folder?: string; pkg?: string } {
  if (!spec.startsWith('.')) return { pkg: spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0] };
  return { folder: path.normalize(path.join(path.dirname(file), spec)).split(path.sep)[0] };
}

function violations(): string[] {
  const bad: string[] = [];
  for (const [dir, forbidden] of Object.entries(FORBIDDEN)) {
    for (const file of sources(dir)) {
      for (const spec of imports(file)) {
        const t = target(file, spec);
        if (t.folder && forbidden.includes(t.folder)) bad.push(`${file} imports ${spec} (${dir}/ may not import ${t.folder}/)`);
        if (t.pkg && CORE.includes(dir) && EDGE_PACKAGES.includes(t.pkg)) bad.push(`${file} imports ${t.pkg} (an edge package: api/ or cli/ only)`);
        if (t.folder && dir === 'core' && t.folder !== 'core') bad.push(`${file} imports ${spec} (core/ is the bottom layer)`);
      }
    }
  }
  return bad;
}

test('no layer imports a layer above it, test code, or an edge package', () => {
  assert.deepEqual(violations(), []);
});

test('the check sees imports, requires and re-exports', () => {
  const seen = (src: string) => ts.preProcessFile(src, true, true).importedFiles.map((f) => f.fileName);
  assert.deepEqual(seen(`import a from '../lab/x';\nimport type { B } from "../cli/y";\nexport * from './z';\nconst c = require('../bench/w');`), ['../lab/x', '../cli/y', './z', '../bench/w']);
  assert.deepEqual(target('server/nfs3/on-write.ts', '../../lab/pattern'), { folder: 'lab' });
  assert.deepEqual(target('api/admin.ts', '@hapi/hapi/lib/x'), { pkg: '@hapi/hapi' });
});
