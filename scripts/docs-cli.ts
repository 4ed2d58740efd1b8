// Writes docs/cli.md from the command specs in src/cli/specs (npm run docs:cli).
import { CLI_DOCS_PATH, renderCliDocs } from '../src/cli/docs.js';
import { writeFileAtomic } from '../src/util/durable.js';

writeFileAtomic(CLI_DOCS_PATH, await renderCliDocs());
console.log(`wrote ${CLI_DOCS_PATH}`);
