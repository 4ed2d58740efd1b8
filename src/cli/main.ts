/** wgnas command line (see cli.ts; docs/cli.md lists every command and option). */
import { errorLine, isInternal, runCli } from './cli.js';
import { installInterruptHandlers } from './interrupt.js';

// Errors outside the command's promise (a stray callback) still end in one line; a stack only for
// a bug under --verbose (or any error under WGNAS_DEBUG).
const die = (e: unknown) => {
  process.stderr.write(`${errorLine(undefined, e)}\n`);
  if (process.env.WGNAS_DEBUG || (isInternal(e) && process.argv.includes('--verbose')))
    process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
};
process.on('uncaughtException', die);
process.on('unhandledRejection', die);

// A child of `wgnas score --procs N` (score-procs.ts) scores what its parent sends instead.
if (process.env.WGNAS_SCORE_WORKER === '1') {
  import('./score-proc-worker.js').then((m) => m.runScoreWorker(), die);
} else {
  installInterruptHandlers();
  // Dawn keeps handles alive: exit explicitly once the command is done.
  runCli(process.argv.slice(2)).then((code) => process.exit(code), die);
}
