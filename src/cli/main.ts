/**
 * wgnas command line. Each subcommand lives in src/cli/commands/NAME.ts and exports
 * `run(argv: string[]): Promise<void>` plus a one-line `summary`; they load lazily.
 */
const commands: Record<string, { summary: string; load: () => Promise<{ run(argv: string[]): Promise<void> }> }> = {
  info: { summary: 'show the GPU adapter, its limits and features, and the native addon status', load: () => import('./commands/info.js') },
  score: { summary: 'score NAS-Bench-201 architectures with zero-cost proxies on CIFAR-10', load: () => import('./commands/score.js') },
  correlate: { summary: 'Kendall tau / Spearman rho of proxies vs NAS-Bench-201 ground truth', load: () => import('./commands/correlate.js') },
  search: { summary: 'zero-shot search (random, evolution, REINFORCE) driven by a proxy', load: () => import('./commands/search.js') },
  proxyless: { summary: 'ProxylessNAS: binarized-path supernet search on CIFAR-10 with a latency loss', load: () => import('./commands/proxyless.js') },
  'evolve-space': { summary: 'AutoSpace: evolve a space of cells under a MAdds budget (learned-space JSON)', load: () => import('./commands/evolve-space.js') },
  profile: { summary: 'measure a per-op latency lookup table on this CPU (native addon)', load: () => import('./commands/profile.js') },
  predict: { summary: 'predict a network latency from a lookup table', load: () => import('./commands/predict.js') },
  bench: { summary: 'benchmark the WGSL kernels against baselines', load: () => import('./commands/bench.js') },
};

function usage(): string {
  const lines = Object.entries(commands).map(([k, v]) => `  ${k.padEnd(13)} ${v.summary}`);
  return `usage: wgnas <command> [options]   (wgnas <command> --help for options)\n\ncommands:\n${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return;
  }
  const cmd = commands[name];
  if (!cmd) {
    process.stderr.write(`wgnas: unknown command '${name}'\n\n${usage()}`);
    process.exitCode = 2;
    return;
  }
  let mod;
  try {
    mod = await cmd.load();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(`commands/${name}`)) {
      process.stderr.write(`wgnas: command '${name}' is not available in this build\n`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
  await mod.run(rest);
}

main(process.argv.slice(2)).then(
  () => {
    // Dawn keeps handles alive; exit explicitly once the command is done.
    process.exit(process.exitCode ?? 0);
  },
  (e: unknown) => {
    const err = e as Error;
    process.stderr.write(`wgnas: ${err.name && err.name !== 'Error' ? `${err.name}: ` : ''}${err.message}\n`);
    if (process.env.WGNAS_DEBUG) process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  },
);
