/** docs/cli.md, generated from the command specs (`npm run docs:cli`; a test fails when the file is stale). */
import { join } from 'node:path';
import { repoRoot } from '../data/paths.js';
import { allSpecs } from './cli.js';
import { formatEnvironmentDocs } from './environment.js';
import { formatDocs } from './help.js';

export const CLI_DOCS_PATH = join(repoRoot(), 'docs', 'cli.md');

export async function renderCliDocs(): Promise<string> {
  return `${formatDocs(await allSpecs())}\n${formatEnvironmentDocs()}`;
}
