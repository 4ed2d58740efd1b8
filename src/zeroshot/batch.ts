/** The fixed minibatch every zero-shot score is computed on, and what the networks see of it (lives with the proxies; re-exported here). */
export { PROXY_INPUTS, type ProxyInputs, proxyBatch, withInputs } from '../proxies/batch.js';
