/** The fixed minibatch every zero-shot score is computed on (lives with the proxies; re-exported here). */
export { proxyBatch } from '../proxies/batch.js';
