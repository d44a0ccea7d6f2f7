// Reads docker-compose.yml so tests can start the very commands the containers run, as local processes. No YAML
// package is installed, so this parses the small YAML subset the file is written in and refuses anything else
// (with the line number) instead of guessing.
import fs from 'node:fs';
import { ConfigError } from '../core/errors';

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

/** The prefix every service command starts with; cliArgs() strips it. */
export const CLI_PREFIX = ['node', 'dist/cli/main.js'] as const;

interface Line {
  no: number; // 1-based, for messages
  indent: number;
  text: string; // without indentation and comment
}

const fail = (no: number, why: string): never => {
  throw new ConfigError('COMPOSE_UNSUPPORTED_YAML', `docker-compose.yml line ${no}: ${why}`, { line: no });
};

/**
 * Parses the subset: block mappings, block sequences of scalars (indented or at the key's indentation),
 * plain / 'single' / "double" quoted scalars, plain scalars folded over continuation lines, the empty flow
 * collections {} and [], comments. Refused: other flow collections, anchors, aliases, tags, block scalars
 * (| >), tabs, duplicate keys, sequences of mappings, sexagesimal numbers. Unquoted scalars resolve as YAML 1.1
 * does, because docker-compose reads YAML 1.1: `30` is a number, an unquoted `off` is false, `0xdeadbeef` a number.
 */
export function parseYamlSubset(text: string): YamlValue {
  const lines = splitLines(text);
  if (!lines.length) return null;
  const [value, next] = parseBlock(lines, 0, lines[0].indent);
  if (next < lines.length) fail(lines[next].no, 'unexpected indentation');
  return value;
}

function splitLines(text: string): Line[] {
  const out: Line[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const no = i + 1;
    const lead = /^[ \t]*/.exec(raw)![0];
    if (lead.includes('\t')) fail(no, 'tab in indentation');
    const body = stripComment(raw.slice(lead.length), no).trimEnd();
    if (body === '' || body === '---') return;
    out.push({ no, indent: lead.length, text: body });
  });
  return out;
}

/** Drops a `#` comment that starts the line or follows whitespace, outside quotes. */
function stripComment(s: string, no: number): string {
  let quote: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) {
        if (quote === "'" && s[i + 1] === "'") i++;
        else quote = null;
      }
    } else if ((c === '"' || c === "'") && (i === 0 || /[\s:-]/.test(s[i - 1]))) quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(s[i - 1]))) return s.slice(0, i);
  }
  if (quote) fail(no, 'unterminated quoted string (multi-line quoted scalars are not supported)');
  return s;
}

const isItem = (l: Line) => l.text === '-' || l.text.startsWith('- ');

function parseBlock(lines: Line[], i: number, indent: number): [YamlValue, number] {
  return isItem(lines[i]) ? parseSequence(lines, i, indent) : parseMapping(lines, i, indent);
}

function parseSequence(lines: Line[], i: number, indent: number): [YamlValue[], number] {
  const out: YamlValue[] = [];
  while (i < lines.length && lines[i].indent === indent && isItem(lines[i])) {
    const l = lines[i];
    const rest = l.text.slice(1).trim();
    if (rest === '') fail(l.no, 'nested block under a list item is not supported');
    if (!/^['"]/.test(rest) && /:(\s|$)/.test(rest)) fail(l.no, 'lists of mappings are not supported');
    const [scalar, next] = foldScalar(lines, i, rest, indent);
    out.push(scalar);
    i = next;
  }
  return [out, i];
}

function parseMapping(lines: Line[], i: number, indent: number): [Record<string, YamlValue>, number] {
  const out: Record<string, YamlValue> = {};
  while (i < lines.length && lines[i].indent === indent) {
    const l = lines[i];
    if (isItem(l)) fail(l.no, 'list item where a mapping key was expected');
    const { key, rest } = splitKey(l);
    if (Object.prototype.hasOwnProperty.call(out, key)) fail(l.no, `duplicate key "${key}"`);
    i++;
    if (rest !== '') {
      const [scalar, next] = foldScalar(lines, i - 1, rest, indent);
      out[key] = scalar;
      i = next;
    } else if (i < lines.length && (lines[i].indent > indent || (lines[i].indent === indent && isItem(lines[i])))) {
      const [child, next] = parseBlock(lines, i, lines[i].indent);
      out[key] = child;
      i = next;
    } else {
      out[key] = null;
    }
  }
  if (i < lines.length && lines[i].indent > indent) fail(lines[i].no, 'unexpected indentation');
  return [out, i];
}

function splitKey(l: Line): { key: string; rest: string } {
  const t = l.text;
  if (t[0] === '"' || t[0] === "'") {
    const [key, end] = quoted(t, 0, l.no);
    if (t[end] !== ':' || (t.length > end + 1 && t[end + 1] !== ' ')) fail(l.no, 'expected ":" after a quoted key');
    return { key, rest: t.slice(end + 1).trim() };
  }
  const m = /:(\s|$)/.exec(t);
  if (!m) fail(l.no, `expected "key: value", got "${t}"`);
  return { key: t.slice(0, m!.index), rest: t.slice(m!.index + 1).trim() };
}

/** A scalar starting on line i, plus any more-indented continuation lines of a plain scalar (folded with spaces). */
function foldScalar(lines: Line[], i: number, first: string, indent: number): [YamlValue, number] {
  let text = first;
  let j = i + 1;
  const plain = !/^['"]/.test(first);
  while (j < lines.length && lines[j].indent > indent) {
    if (!plain) fail(lines[j].no, 'continuation of a quoted scalar is not supported');
    if (/:(\s|$)/.test(lines[j].text)) fail(lines[j].no, 'unexpected indentation (a mapping cannot continue a scalar)');
    text += ' ' + lines[j].text;
    j++;
  }
  return [scalar(text, lines[i].no), j];
}

// YAML 1.1 resolution of plain scalars (yaml.org/type/{bool,int,float,null}.html), as PyYAML applies it.
const YAML11_BOOL = /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;
const YAML11_TRUE = /^(?:y|Y|yes|Yes|YES|true|True|TRUE|on|On|ON)$/;
const YAML11_NULL = /^(?:null|Null|NULL|~)$/;
const YAML11_DEC = /^[-+]?(?:0|[1-9][\d_]*)$/;
const YAML11_HEX = /^[-+]?0x[\da-fA-F_]+$/;
const YAML11_OCT = /^[-+]?0[0-7_]+$/;
const YAML11_FLOAT = /^[-+]?(?:[\d][\d_]*)?\.[\d_]*(?:[eE][-+][\d]+)?$/;
const YAML11_SEXAGESIMAL = /^[-+]?[1-9][\d_]*(?::[0-5]?\d)+(?:\.[\d_]*)?$/;

function resolvePlain(t: string, no: number): YamlValue {
  if (YAML11_NULL.test(t)) return null;
  if (YAML11_BOOL.test(t)) return YAML11_TRUE.test(t);
  const digits = t.replace(/_/g, '');
  if (YAML11_DEC.test(t)) return Number(digits);
  if (YAML11_HEX.test(t)) return (digits.startsWith('-') ? -1 : 1) * parseInt(digits.replace(/^[-+]?0x/, ''), 16);
  if (YAML11_OCT.test(t)) return (digits.startsWith('-') ? -1 : 1) * parseInt(digits.replace(/^[-+]?0/, ''), 8);
  if (YAML11_FLOAT.test(t) && /\d/.test(t)) return Number(digits);
  if (/^[-+]?\.(?:inf|Inf|INF)$/.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
  if (/^\.(?:nan|NaN|NAN)$/.test(t)) return NaN;
  if (YAML11_SEXAGESIMAL.test(t)) fail(no, `"${t}" is a base-60 number in YAML 1.1: quote it`);
  return t;
}

function scalar(t: string, no: number): YamlValue {
  if (t === '{}') return {};
  if (t === '[]') return [];
  if (t[0] === '"' || t[0] === "'") {
    const [s, end] = quoted(t, 0, no);
    if (end !== t.length) fail(no, 'text after a quoted scalar');
    return s;
  }
  if (/^[[{&*!|>%@`]/.test(t)) fail(no, `"${t[0]}" (flow collection, anchor, alias, tag or block scalar) is not supported`);
  return resolvePlain(t, no);
}

/** A quoted scalar starting at s[at]; returns its value and the index after the closing quote. */
function quoted(s: string, at: number, no: number): [string, number] {
  const q = s[at];
  let out = '';
  for (let i = at + 1; i < s.length; i++) {
    const c = s[i];
    if (q === "'" && c === "'") {
      if (s[i + 1] === "'") {
        out += "'";
        i++;
        continue;
      }
      return [out, i + 1];
    }
    if (q === '"' && c === '"') return [out, i + 1];
    if (q === '"' && c === '\\') {
      const e = s[++i];
      const map: Record<string, string> = { '\\': '\\', '"': '"', n: '\n', t: '\t', '/': '/' };
      if (!(e in map)) fail(no, `escape "\\${e}" is not supported`);
      out += map[e];
      continue;
    }
    out += c;
  }
  return fail(no, 'unterminated quoted string');
}

/** Each service's `command` list, by service name, from compose YAML text. */
export function composeCommands(text: string): Record<string, string[]> {
  const doc = parseYamlSubset(text);
  const services = isMap(doc) ? doc.services : undefined;
  if (!isMap(services)) throw new ConfigError('COMPOSE_NO_SERVICES', 'docker-compose.yml has no services mapping');
  const out: Record<string, string[]> = {};
  for (const [name, svc] of Object.entries(services)) {
    const command = isMap(svc) ? svc.command : undefined;
    if (!Array.isArray(command)) {
      throw new ConfigError('COMPOSE_BAD_COMMAND', `service ${name}: command must be a list, one argument per item`, { service: name });
    }
    const bad = command.findIndex((a) => typeof a !== 'string');
    if (bad >= 0) {
      throw new ConfigError(
        'COMPOSE_BAD_COMMAND',
        `service ${name}: command item ${bad} is ${JSON.stringify(command[bad])} (${typeof command[bad]}), not a string: quote it`,
        { service: name, item: bad },
      );
    }
    out[name] = command as string[];
  }
  return out;
}

/** composeCommands() of a file (default ./docker-compose.yml). */
export function loadComposeCommands(file = 'docker-compose.yml'): Record<string, string[]> {
  return composeCommands(fs.readFileSync(file, 'utf8'));
}

/**
 * The nfs-testbed arguments of a service command: ['server', '--export', ...]. Run them locally as
 * `node <repo>/dist/cli/main.js ...args` from the repository root.
 */
export function cliArgs(command: readonly string[]): string[] {
  if (command[0] !== CLI_PREFIX[0] || command[1] !== CLI_PREFIX[1]) {
    throw new ConfigError('COMPOSE_BAD_COMMAND', `command does not start with "${CLI_PREFIX.join(' ')}": ${command.join(' ')}`);
  }
  return command.slice(2);
}

function isMap(v: YamlValue | undefined): v is { [key: string]: YamlValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
