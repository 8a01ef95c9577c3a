import { describe, expect, it } from '@jest/globals';
import { encodeCommands, RespError, RespParser, type RespReply } from '../../../../src/sources/redis/resp-client.js';

const reply = Buffer.concat([
  Buffer.from('*4\r\n+OK\r\n:-42\r\n*3\r\n$3\r\nab\n\r\n$-1\r\n*0\r\n-WRONGTYPE Operation against a key\r\n'),
  Buffer.from('$5\r\n'),
  Buffer.from([0x00, 0x0d, 0x0a, 0xff, 0x80]),
  Buffer.from('\r\n'),
]);
const expected: RespReply[] = ['OK', -42, [Buffer.from('ab\n'), null, []], new RespError('WRONGTYPE Operation against a key')];

describe('RespParser', () => {
  it('parses nested, binary replies whether they arrive at once or a byte at a time', () => {
    const whole = new RespParser().push(Buffer.concat([reply, Buffer.from('$0\r\n\r\n')]));
    expect(whole).toEqual([expected, Buffer.from([0x00, 0x0d, 0x0a, 0xff, 0x80]), Buffer.alloc(0)]);
    const parser = new RespParser();
    const replies: RespReply[] = [];
    for (const byte of reply) replies.push(...parser.push(Buffer.from([byte])));
    expect(replies).toHaveLength(2);
    expect(replies[0]).toEqual(expected);
    expect((replies[0] as RespReply[])[3]).toMatchObject({ prefix: 'WRONGTYPE' });
    expect(replies[1]).toEqual(Buffer.from([0x00, 0x0d, 0x0a, 0xff, 0x80]));
    expect(parser.idle).toBe(true);
  });

  it('assembles a large bulk string from many chunks', () => {
    const value = Buffer.alloc(1_000_000, 7);
    const bytes = Buffer.concat([Buffer.from(`$${value.length}\r\n`), value, Buffer.from('\r\n')]);
    const parser = new RespParser();
    const replies: RespReply[] = [];
    for (let at = 0; at < bytes.length; at += 1000) replies.push(...parser.push(bytes.subarray(at, at + 1000)));
    expect(replies).toHaveLength(1);
    // Buffer.equals: Jest's deep equality walks a megabyte byte by byte.
    expect(value.equals(replies[0] as Buffer)).toBe(true);
  });

  it('keeps unparsed bytes for whoever takes the socket over', () => {
    const parser = new RespParser();
    expect(parser.push(Buffer.from('+OK\r\n$12\r\nREDIS'))).toEqual(['OK']);
    expect(parser.idle).toBe(false);
    expect(parser.drain().toString()).toBe('$12\r\nREDIS');
    expect(parser.idle).toBe(true);
  });

  it('refuses bytes that are not RESP', () => {
    expect(() => new RespParser().push(Buffer.from('?what\r\n'))).toThrow(/unexpected RESP type/);
    expect(() => new RespParser().push(Buffer.from(':12x\r\n'))).toThrow(/bad RESP integer/);
  });

  it('encodes commands as arrays of bulk strings', () => {
    expect(encodeCommands([['SET', Buffer.from([0xff, 0x0d]), 12], ['GET', 'é']]).toString('latin1')).toBe('*3\r\n$3\r\nSET\r\n$2\r\n\xff\r\r\n$2\r\n12\r\n*2\r\n$3\r\nGET\r\n$2\r\n\xc3\xa9\r\n');
  });
});
