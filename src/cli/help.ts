/** `--help` text and docs/cli.md, both generated from the command specs. */
import { choicesOf, type CommandSpec, type ModeSpec, type OptDef, type Options } from './spec.js';

const WIDTH = 100;
const COL = 26;

function wrap(textIn: string, width: number): string[] {
  const out: string[] = [];
  for (const para of textIn.split('\n')) {
    let line = '';
    for (const word of para.split(/ +/)) {
      if (line && line.length + 1 + word.length > width) {
        out.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    out.push(line);
  }
  return out;
}

function head(name: string, o: OptDef): string {
  const short = o.short ? `-${o.short}, ` : '';
  return `${short}--${name}${o.type === 'bool' ? '' : ` ${o.metavar ?? 'VALUE'}`}`;
}

/** The default as written on a command line, or '' when there is none to show. */
export function defaultText(o: OptDef): string {
  if (o.defaultText !== undefined) return o.defaultText;
  const d = o.default;
  if (d === undefined || d === false) return '';
  if (Array.isArray(d)) return d.join(',');
  return String(d);
}

/** "integer from 2 to 5000", "number > 0", "one of a, b"... for docs. */
export function valueText(o: OptDef): string {
  const range = (() => {
    const lo = o.gt !== undefined ? `> ${o.gt}` : o.min !== undefined ? `>= ${o.min}` : '';
    if (o.max === undefined) return lo;
    return o.min !== undefined && o.gt === undefined ? `${o.min}..${o.max}` : `${lo}${lo ? ', ' : ''}<= ${o.max}`;
  })();
  const rep = o.repeatable ? ', repeatable' : '';
  switch (o.type) {
    case 'bool':
      return 'flag';
    case 'int':
      return `integer${range ? ` ${range}` : ''}`;
    case 'number':
      return `number${range ? ` ${range}` : ''}`;
    case 'madds':
      return 'multiply-adds > 0 (12e6, 12M, 1.5G)';
    case 'enum':
      return choicesOf(o.choices).join(' \\| ');
    case 'list':
      return choicesOf(o.choices).length ? `comma list of ${choicesOf(o.choices).join(', ')}` : 'comma list';
    case 'text':
      return `text${rep}`;
    case 'path':
      return `${o.path === 'in-file' ? 'input file' : o.path === 'out-file' ? 'output file' : 'output directory'}${rep}`;
  }
}

function helpBody(o: OptDef): string {
  let s = o.help;
  if (o.type === 'enum') s += ` (${choicesOf(o.choices).join(' | ')})`;
  if (o.type === 'list' && choicesOf(o.choices).length) s += ` (items: ${choicesOf(o.choices).join(', ')})`;
  if (
    (o.type === 'int' || o.type === 'number') &&
    (o.max !== undefined || o.gt !== undefined || (o.min !== undefined && o.min !== 1))
  ) {
    s += ` (${valueText(o).replace(/^(integer|number) /, '')})`;
  }
  if (o.repeatable) s += ' (repeatable)';
  const d = defaultText(o);
  if (d) s += ` [${d}]`;
  return s;
}

function optionLines(opts: Options, skip: (name: string, o: OptDef) => boolean = () => false): string[] {
  const lines: string[] = [];
  let group: string | undefined;
  for (const [name, o] of Object.entries(opts)) {
    if (skip(name, o)) continue;
    if (o.group !== group) {
      group = o.group;
      if (group) lines.push(`${group}:`);
    }
    const h = `  ${head(name, o)}`;
    const body = wrap(helpBody(o), WIDTH - COL);
    if (h.length >= COL - 1) lines.push(h, ...body.map((b) => ' '.repeat(COL) + b));
    else lines.push(h.padEnd(COL) + body[0], ...body.slice(1).map((b) => ' '.repeat(COL) + b));
  }
  return lines;
}

function usageLines(spec: CommandSpec): string[] {
  const all = spec.modes.flatMap((m) => m.usage);
  return all.map((u, i) => `${i === 0 ? 'usage: ' : '       '}wgnas ${spec.name}${u ? ` ${u}` : ''}`);
}

/** The options a mode shares with the default mode (listed once, under the default). */
function sharedNames(main: ModeSpec, m: ModeSpec): string[] {
  return Object.entries(m.options)
    .filter(([name, o]) => main.options[name] === o)
    .map(([name]) => `--${name}`);
}

function modeHeading(m: ModeSpec): string {
  return m.heading ?? `with ${m.label}`;
}

/** The text `wgnas <command> --help` prints. */
export function formatHelp(spec: CommandSpec): string {
  const [main, ...others] = spec.modes;
  const out = [...usageLines(spec), '', ...wrap(spec.description, WIDTH), ''];
  if (main.positionals) out.push(`arguments:`, `  ${main.positionals.metavar.padEnd(COL - 2)}${main.positionals.help}`);
  const firstGrouped = Object.values(main.options)[0]?.group !== undefined;
  out.push(...(firstGrouped ? [] : ['options:']), ...optionLines(main.options));
  for (const m of others) {
    out.push(`${modeHeading(m)}:`);
    if (m.optionsOf) out.push(`  the options of 'wgnas ${m.optionsOf}' (see wgnas ${m.optionsOf} --help)`);
    else {
      out.push(...optionLines(m.options, (name, o) => main.options[name] === o));
      const shared = sharedNames(main, m);
      if (shared.length) out.push(...wrap(`also, as above: ${shared.join(', ')}`, WIDTH - 2).map((l) => `  ${l}`));
    }
  }
  out.push(
    'general:',
    `${'  -h, --help'.padEnd(COL)}this help`,
    `${'  --version'.padEnd(COL)}print the wgnas version`,
    `${'  --verbose'.padEnd(COL)}also print the GPU's start-up warnings and an internal error's stack`,
  );
  if (spec.epilog) out.push('', spec.epilog().trimEnd());
  return out.join('\n') + '\n';
}

const md = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function docsTable(opts: Options, skip: (name: string, o: OptDef) => boolean = () => false): string[] {
  const rows = Object.entries(opts).filter(([n, o]) => !skip(n, o));
  if (!rows.length) return ['(no options of its own)'];
  return [
    '| option | value | default | description |',
    '|---|---|---|---|',
    ...rows.map(([name, o]) => {
      const value = o.type === 'enum' ? valueText(o) : md(valueText(o));
      const d = defaultText(o);
      return `| \`${head(name, o)}\` | ${value}${o.required ? ' (required)' : ''} | ${d ? `\`${md(d)}\`` : ''} | ${md(o.help)} |`;
    }),
  ];
}

/** docs/cli.md: every command's usage, description and option table. */
export function formatDocs(specs: readonly CommandSpec[]): string {
  const out = [
    '# wgnas command line',
    '',
    '<!-- Generated from src/cli/specs by `npm run docs:cli`; do not edit by hand (a test checks it is current). -->',
    '',
    "Every command takes `--help`, `--version` and `--verbose` (which also prints the GPU runtime's start-up warnings). Bad input ends in one line naming the flag or file, before any",
    'work starts: exit code 2 when the command line is wrong (an unknown option, a value out of range, an output',
    "path that cannot be written), 1 when a file's content is bad or the run itself fails. Ctrl-C (SIGINT) or SIGTERM",
    'stops a command at once with one line saying what was kept and, where the command resumes, how to continue it',
    '(then it ends killed by that signal, as a command without a handler does: a shell sees status 130 or 143, and a',
    'script running it stops there too; `wgnas worker` instead finishes the jobs in hand and exits 0).',
    '',
    'An output must be a regular file (a directory for a DIR option) or a new name in a writable directory: a device, a',
    'fifo or a socket is refused (an atomic write would replace it with a plain file). A symbolic link is followed: its target',
    'is written (atomically, in its own directory) and the link stays; a link for a DIR option must lead to an existing',
    "directory. A write that fails (a full disk) names the file and what is left, e.g. `wgnas score: cannot write 's.csv':",
    'no space left on device (ENOSPC); its earlier contents are kept`, and leaves no temporary file. An error line is',
    '`wgnas <command>: <message>`; one that starts with a class name (`TypeError: ...`) is a bug in wgnas (`--verbose`',
    'prints its stack).',
    '',
    '| command | what it does |',
    '|---|---|',
    ...specs.map((s) => `| [\`${s.name}\`](#wgnas-${s.name}) | ${md(s.summary)} |`),
    '',
  ];
  for (const s of specs) {
    const [main, ...others] = s.modes;
    out.push(
      `## wgnas ${s.name}`,
      '',
      md(s.summary),
      '',
      '```',
      ...usageLines(s),
      '```',
      '',
      s.description.replace(/\n/g, ' '),
      '',
    );
    if (main.positionals)
      out.push(
        `Arguments: \`${main.positionals.metavar}\`: ${md(main.positionals.help)} (${main.positionals.choices().join(', ')}).`,
        '',
      );
    out.push(...docsTable(main.options), '');
    for (const m of others) {
      out.push(`### ${s.name} ${modeHeading(m)}`, '');
      if (m.optionsOf) out.push(`The options of [\`wgnas ${m.optionsOf}\`](#wgnas-${m.optionsOf}).`, '');
      else {
        out.push(...docsTable(m.options, (name, o) => main.options[name] === o), '');
        const shared = sharedNames(main, m);
        if (shared.length) out.push(`Also, as above: ${shared.map((n) => `\`${n}\``).join(', ')}.`, '');
      }
    }
    if (s.epilog) out.push('```', s.epilog().trimEnd(), '```', '');
  }
  return out.join('\n');
}
