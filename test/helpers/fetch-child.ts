/**
 * Child process for the kill tests of `wgnas data fetch`: `fetch-child.ts URL BYTES MD5 ROOT [force]`
 * fetches a CIFAR-10-shaped archive of that size and MD5 into ROOT as fetchDataset does (the test
 * sets WGNAS_TEST_KILL_AT to kill it at a point).
 */
import { DATASETS, fetchDataset } from '../../src/data/datasets.js';

const [url, bytes, md5, root, force] = process.argv.slice(2);
await fetchDataset({ ...DATASETS.cifar10, url, bytes: Number(bytes), md5 }, { root, force: force === 'force' });
