/**
 * --redis redis://host:port/N with a database the server does not have (N >= its 'databases'):
 * ioredis would carry on in database 0 (another run's results and jobs); one line naming the flag.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeRedis, RedisUnreachableError } from '../../src/queue/connection.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { haveRedisServer, RedisServer } from './redis-server.js';

const enabled = haveRedisServer();
let redis: RedisServer;

beforeAll(async () => {
  if (enabled) redis = await RedisServer.start();
}, 30_000);
afterAll(async () => {
  await redis?.down();
});

describe('--redis database index', () => {
  it('a database the server refuses is named; one it has is used', async ({ skip }) => {
    if (!enabled) return skip();
    await expect(probeRedis(`${redis.url}/16`)).rejects.toThrow(RedisUnreachableError);
    await expect(probeRedis(`${redis.url}/16`)).rejects.toThrow(
      /the server refuses database 16 \(ERR DB index is out of range\)/,
    );
    await expect(probeRedis(`${redis.url}/15`)).resolves.toBeUndefined();
    const r = await wgnasInProcess(['queue', 'status', '--redis', `${redis.url}/99`]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^wgnas queue: --redis: redis:\/\/127\.0\.0\.1:\d+\/99: the server refuses database 99 .+\n$/);
    expect(r.out).toBe('');
  });
});
