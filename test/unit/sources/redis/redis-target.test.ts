import { describe, expect, it } from '@jest/globals';
import { ValidationError } from '../../../../src/domain/errors.js';
import { connectOptionsOf, describeRedisTarget, parseRedisTarget, redisSecretsFromEnv } from '../../../../src/sources/redis/redis-target.js';
import { thrownBy } from '../../../helpers/thrown.js';

const refused = (location: string, tls = {}) => thrownBy(() => parseRedisTarget(location, tls), ValidationError);

describe('parseRedisTarget', () => {
  it('reads host, port, database and ACL user', () => {
    expect(parseRedisTarget('redis://cache.internal')).toEqual({ host: 'cache.internal', port: 6379 });
    expect(parseRedisTarget('redis://backup@10.0.0.5:6380/2')).toEqual({ host: '10.0.0.5', port: 6380, db: 2, username: 'backup' });
    expect(parseRedisTarget('redis://[::1]:7000/0')).toEqual({ host: '::1', port: 7000, db: 0 });
  });

  it('reads rediss:// as TLS with its options', () => {
    const target = parseRedisTarget('rediss://redis.example.com:6380', { caFile: '/etc/ca.pem', servername: 'redis.internal' });
    expect(target).toEqual({ host: 'redis.example.com', port: 6380, tls: { caFile: '/etc/ca.pem', servername: 'redis.internal' } });
    expect(describeRedisTarget(target)).toBe('rediss://redis.example.com:6380');
    expect(connectOptionsOf(parseRedisTarget('rediss://redis.example.com', { insecure: true }))).toMatchObject({ tls: { servername: 'redis.example.com', rejectUnauthorized: false } });
    expect(refused('redis://host', { insecure: true }).details).toEqual({ field: 'source.tls' });
  });

  it('refuses a password in the URL without repeating it, and points to REDISCLI_AUTH', () => {
    for (const location of ['redis://:hunter2-secret@host', 'redis://admin:hunter2-secret@host:6379/1', 'rediss://u:hunter2-secret@h']) {
      const error = refused(location);
      expect(error.message).toContain('REDISCLI_AUTH');
      expect(error.message).not.toContain('hunter2');
      expect(error.details).toEqual({ field: 'source.password' });
    }
  });

  it('refuses bad ports, databases, schemes and options, naming the field', () => {
    expect(refused('redis://host:0').details).toEqual({ field: 'source.port' });
    expect(refused('redis://host:65536').details).toEqual({ field: 'source.port' });
    expect(refused('redis://host:abc').message).toMatch(/port "abc"/);
    expect(refused('redis://host:6379/x').details).toEqual({ field: 'source.db' });
    expect(refused('http://host').details).toEqual({ field: 'source.scheme' });
    expect(refused('redis://host?tls=true').message).toMatch(/no \?options/);
    expect(refused('redis://:6379').details).toEqual({ field: 'source.host' });
    expect(refused('').details).toEqual({ field: 'source' });
  });

  it('renders a target for logs and takes the password from REDISCLI_AUTH only', () => {
    expect(describeRedisTarget(parseRedisTarget('redis://backup@[::1]:7000/3'))).toBe('redis://backup@[::1]:7000/3');
    expect(redisSecretsFromEnv({ REDISCLI_AUTH: 's3cret' })).toEqual({ password: 's3cret' });
    expect(redisSecretsFromEnv({ REDISCLI_AUTH: '' })).toEqual({});
    expect(redisSecretsFromEnv({})).toEqual({});
  });
});
