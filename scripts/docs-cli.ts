// Writes docs/cli.md from the command specs in src/cli/specs (npm run docs:cli).
import { writeFileSync } from 'node:fs';
import { CLI_DOCS_PATH, renderCliDocs } from '../src/cli/docs.js';

writeFileSync(CLI_DOCS_PATH, await renderCliDocs());
console.log(`wrote ${CLI_DOCS_PATH}`);
