// How every subcommand's --help prints its options, and the same rows as the README's option tables
// (scripts/readme-synopses.js writes them, test/readme-synopses.test.ts fails when they drift): one way to print a
// default, with units where the value has them.
import { Option, type Argument, type Command, type Help, type HelpConfiguration } from 'commander';

/** The command that rewrites the README's option tables; the drift test's message names it. */
export const SYNOPSES_COMMAND = 'npm run readme:synopses';

/**
 * An option whose default the code applies, depends on other options, or depends on the machine (matrix --jobs; the
 * README's tables are checked on other machines, so what they print must not vary): `shown` is what --help and the
 * README print as its default; commander sets no value, so the action still sees undefined.
 */
export function optionWithDefault(flags: string, description: string, shown: string): Option {
  return new Option(flags, description).default(undefined, shown);
}

/** The printed default of an option, or undefined when it has none worth printing. */
export function defaultText(option: Option): string | undefined {
  if (option.defaultValueDescription !== undefined) return option.defaultValueDescription;
  const v: unknown = option.defaultValue;
  if (v === undefined || v === false || (Array.isArray(v) && v.length === 0)) return undefined;
  // A negated flag (--no-rpc) defaults to the positive: commander's own bookkeeping, not a user-facing value.
  if (option.negate) return undefined;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** "(choices: a | b; default: x)" or "", the one format both --help and the README use. */
export function extraInfo(option: Option): string {
  const parts: string[] = [];
  if (option.argChoices) parts.push(`choices: ${option.argChoices.join(' | ')}`);
  const d = defaultText(option);
  if (d !== undefined) parts.push(`default: ${d}`);
  if (option.envVar !== undefined) parts.push(`env: ${option.envVar}`);
  return parts.length ? `(${parts.join('; ')})` : '';
}

/** Applied to the program before subcommands are added (commander copies help settings to each of them). */
export const HELP_CONFIG: HelpConfiguration = {
  optionDescription(option: Option): string {
    return [option.description, extraInfo(option)].filter(Boolean).join(' ');
  },
  argumentDescription(argument: Argument): string {
    const d = argument.defaultValueDescription ?? (argument.defaultValue === undefined ? undefined : String(argument.defaultValue));
    return [argument.description, d === undefined ? '' : `(default: ${d})`].filter(Boolean).join(' ');
  },
};

export interface OptionRow {
  /** as --help prints it: "--drc-expiry <duration>" */
  flags: string;
  required: boolean;
  /** printed default, or undefined */
  default?: string;
  /** true when the default is a value one could type; false when it describes what the code does instead */
  literalDefault: boolean;
  choices?: readonly string[];
  description: string;
}

/** The options a subcommand's --help lists, without --help itself. */
export function optionRows(cmd: Command): OptionRow[] {
  const help = cmd.createHelp() as Help;
  return help
    .visibleOptions(cmd)
    .filter((o) => o.long !== '--help')
    .map((o) => ({
      flags: o.flags,
      // requiredOption with a default is always satisfied: show the default instead
      required: o.mandatory && o.defaultValue === undefined,
      ...(defaultText(o) !== undefined ? { default: defaultText(o) } : {}),
      literalDefault: o.defaultValue !== undefined,
      ...(o.argChoices ? { choices: o.argChoices } : {}),
      description: o.description,
    }));
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** A command's name under the program: "server", or "linux client" for a subcommand of a subcommand. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Every command the README documents with a table: each subcommand at any depth, except one that only groups
 * others (`linux` holds `client` and `nfsd`) and has no options or arguments of its own.
 */
export function documentedCommands(program: Command): Command[] {
  const out: Command[] = [];
  const walk = (cmd: Command) => {
    for (const c of cmd.commands) {
      if (c.commands.length === 0 || optionRows(c).length > 0 || c.registeredArguments.length > 0) out.push(c);
      walk(c);
    }
  };
  walk(program);
  return out;
}

/** The README block of one subcommand: its usage line and one table row per option. */
export function synopsisMarkdown(cmd: Command, programName: string): string {
  const required = optionRows(cmd).filter((r) => r.required).map((r) => r.flags);
  const lines = [
    '```',
    [programName, commandPath(cmd), ...required, cmd.usage()].filter(Boolean).join(' '),
    '```',
    '',
    '| option | default | meaning |',
    '| --- | --- | --- |',
  ];
  for (const a of cmd.registeredArguments) {
    const d = a.defaultValue === undefined ? '' : `\`${String(a.defaultValue)}\``;
    lines.push(`| \`${a.required ? `<${a.name()}${a.variadic ? '...' : ''}>` : `[${a.name()}${a.variadic ? '...' : ''}]`}\` | ${cell(d)} | ${cell(a.description)} |`);
  }
  for (const r of optionRows(cmd)) {
    const def = r.required ? 'required' : r.default === undefined ? '' : r.literalDefault ? `\`${cell(r.default)}\`` : cell(r.default);
    const choices = r.choices ? ` (choices: ${r.choices.map((c) => `\`${c}\``).join(', ')})` : '';
    lines.push(`| \`${cell(r.flags)}\` | ${def} | ${cell(r.description)}${cell(choices)} |`);
  }
  return lines.join('\n');
}

/** Markers around a generated block in the README: `<!-- synopsis NAME -->` ... `<!-- /synopsis -->`. */
export const SYNOPSIS_BLOCK = /<!-- synopsis ([a-z0-9-]+(?: [a-z0-9-]+)*)(?: \([^>]*\))? -->\n[\s\S]*?<!-- \/synopsis -->/g;

const blockText = (name: string, body: string) =>
  `<!-- synopsis ${name} (generated from its --help by \`${SYNOPSES_COMMAND}\`; edit cli/, not here) -->\n${body}\n<!-- /synopsis -->`;

export interface SynopsesResult {
  /** the README with every block regenerated */
  text: string;
  /** subcommands whose block changed */
  changed: string[];
  /** subcommands with no block in the README (add `<!-- synopsis NAME -->\n<!-- /synopsis -->` where it belongs) */
  missing: string[];
  /** blocks naming no subcommand */
  unknown: string[];
}

/** Regenerates every synopsis block of `readme` from the program's subcommands. */
export function updateSynopses(readme: string, program: Command): SynopsesResult {
  const cmds = new Map(documentedCommands(program).map((c) => [commandPath(c), c]));
  const seen = new Set<string>();
  const changed: string[] = [];
  const unknown: string[] = [];
  const text = readme.replace(SYNOPSIS_BLOCK, (block, name: string) => {
    const cmd = cmds.get(name);
    if (!cmd) {
      unknown.push(name);
      return block;
    }
    seen.add(name);
    const fresh = blockText(name, synopsisMarkdown(cmd, program.name()));
    if (fresh !== block) changed.push(name);
    return fresh;
  });
  const missing = [...cmds.keys()].filter((n) => !seen.has(n));
  return { text, changed, missing, unknown };
}
