/**
 * An unreachable --redis in one line: which HOST:PORT, refused or timed out, and how to check it
 * (redis-cli), not ioredis's 'Connection is closed.'. Needs no Redis server: a closed port and a
 * server that accepts and never answers.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeRedis, RedisUnreachableError } from '../../src/queue/connection.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { freePort } from './redis-server.js';

let silent: Server;
let silentPort: number;
const held: Socket[] = [];

beforeAll(async () => {
  silent = createServer((s) => void held.push(s)); // accepts, never answers
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  silentPort = (silent.address() as { port: number }).port;
});
afterAll(() => {
  for (const s of held) s.destroy();
  silent.close();
});

describe('probeRedis', () => {
  it('a closed port: refused, naming HOST:PORT and the redis-cli check', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const p = probeRedis(url);
    await expect(p).rejects.toThrow(RedisUnreachableError);
    await expect(p).rejects.toThrow(
      `cannot connect to 127.0.0.1:${port} (connection refused: is the server running, on this port?); check the server with: redis-cli -u ${url} ping`,
    );
  });

  it('a server that never answers: timed out after the probe timeout, the password not shown', async () => {
    const url = `redis://user:secret@127.0.0.1:${silentPort}/3`;
    await expect(probeRedis(url, 200)).rejects.toThrow(
      `cannot connect to 127.0.0.1:${silentPort} (timed out: no answer in 200 ms); check the server with: redis-cli -u redis://user:***@127.0.0.1:${silentPort}/3 ping`,
    );
  });
});

describe('--redis unreachable on the command line', () => {
  it('one line naming the flag, HOST:PORT and the check; no stack', async () => {
    const port = await freePort();
    const r = await wgnasInProcess(['queue', 'status', '--redis', `redis://127.0.0.1:${port}`]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `wgnas queue: --redis: cannot connect to 127.0.0.1:${port} (connection refused: is the server running, on this port?); check the server with: redis-cli -u redis://127.0.0.1:${port} ping\n`,
    );
    expect(r.out).toBe('');
  });
});
