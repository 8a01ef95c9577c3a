import { describe, expect, it } from '@jest/globals';
import { IntegrityError } from '../../../src/domain/errors.js';
import { assertSafeName, decodeTree, encodeTree, nodeNameBytes, nodeTargetBytes, textFields, type TreeNode } from '../../../src/repository/tree.js';
import { thrownBy } from '../../helpers/thrown.js';

/** The code of the IntegrityError `fn` throws. */
const thrownCode = (fn: () => unknown): string => thrownBy(fn, IntegrityError).code;

function node(fields: Partial<TreeNode> = {}): TreeNode {
  return {
    name: 'file.txt',
    type: 'file',
    mode: 0o644,
    uid: 1000,
    gid: 1000,
    mtimeNs: '1735041600123456789',
    atimeNs: '1735041600000000000',
    ctimeNs: '1735041600123456789',
    size: 12,
    dev: '2049',
    ino: '18446744073709551615',
    nlink: 1,
    content: ['ab'.repeat(32)],
    ...fields,
  };
}

describe('assertSafeName', () => {
  it.each([
    ['empty', Buffer.alloc(0)],
    ['.', Buffer.from('.')],
    ['..', Buffer.from('..')],
    ['a slash', Buffer.from('a/b')],
    ['only a slash', Buffer.from('/')],
    ['a parent traversal', Buffer.from('../etc')],
    ['a leading slash', Buffer.from('/etc')],
    ['a trailing slash', Buffer.from('dir/')],
    ['NUL', Buffer.from([0x61, 0x00, 0x62])],
    ['only NUL', Buffer.from([0])],
  ])('rejects %s with integrity.unsafe_name', (_label, name) => {
    expect(thrownCode(() => assertSafeName(name, 'dir/sub'))).toBe('integrity.unsafe_name');
  });

  it('names the place in the message', () => {
    expect(() => assertSafeName(Buffer.from('..'), 'home/user')).toThrow(/home\/user/);
  });

  it.each([
    ['three dots', Buffer.from('...')],
    ['a dotfile', Buffer.from('.bashrc')],
    ['dot-dot prefix', Buffer.from('..hidden')],
    ['dot-dot suffix', Buffer.from('name..')],
    ['a single space', Buffer.from(' ')],
    ['a backslash', Buffer.from('a\\b')],
    ['a newline', Buffer.from('line\nbreak')],
    ['a colon and asterisk', Buffer.from('c:*?')],
    ['unicode', Buffer.from('ünïcødé 名前 🎉')],
    ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0x80])],
    ['a latin-1 byte that looks like a dot in no encoding', Buffer.from([0x2e, 0xae])],
    ['255 bytes', Buffer.alloc(255, 0x61)],
    ['a name starting with a dash', Buffer.from('-rf')],
  ])('accepts %s', (_label, name) => {
    expect(() => assertSafeName(name, 'dir')).not.toThrow();
  });
});

describe('textFields / nodeNameBytes / nodeTargetBytes', () => {
  it('keeps valid UTF-8 as text only', () => {
    expect(textFields(Buffer.from('plain.txt'))).toEqual({ text: 'plain.txt' });
    expect(textFields(Buffer.from('ünïcødé 🎉'))).toEqual({ text: 'ünïcødé 🎉' });
  });

  it.each([
    ['latin-1', Buffer.from([0x63, 0x61, 0x66, 0xe9])], // "café" in latin-1
    ['a lone continuation byte', Buffer.from([0x80])],
    ['a truncated sequence', Buffer.from([0x61, 0xe2, 0x82])],
    ['an overlong encoding of /', Buffer.from([0xc0, 0xaf])],
    ['an encoded surrogate', Buffer.from([0xed, 0xa0, 0x80])],
    ['0xff bytes', Buffer.from([0xff, 0xff])],
  ])('keeps the raw bytes of %s and gets them back exactly', (_label, bytes) => {
    const { text, raw } = textFields(bytes);
    expect(raw).toBe(bytes.toString('base64'));
    expect(text).toContain('\ufffd');
    const named = node({ name: text, ...(raw !== undefined ? { nameRaw: raw } : {}) });
    expect(nodeNameBytes(named).equals(bytes)).toBe(true);
    // Through the tree encoding too.
    const decoded = decodeTree(encodeTree({ nodes: [named] }), 't');
    expect(nodeNameBytes(decoded.nodes[0]!).equals(bytes)).toBe(true);
  });

  it('round-trips valid names through nodeNameBytes', () => {
    for (const name of ['a', 'ünïcødé', 'with space', '🎉']) {
      const { text, raw } = textFields(Buffer.from(name));
      expect(raw).toBeUndefined();
      expect(nodeNameBytes(node({ name: text })).toString('utf8')).toBe(name);
    }
  });

  it('returns link targets, raw when needed, empty when absent', () => {
    const bytes = Buffer.from([0x2e, 0x2e, 0x2f, 0xff]);
    const { text, raw } = textFields(bytes);
    expect(nodeTargetBytes(node({ type: 'symlink', target: text, targetRaw: raw! })).equals(bytes)).toBe(true);
    expect(nodeTargetBytes(node({ type: 'symlink', target: '../x' })).toString()).toBe('../x');
    expect(nodeTargetBytes(node()).length).toBe(0);
  });
});

describe('encodeTree / decodeTree', () => {
  it('round-trips a tree', () => {
    const tree = { nodes: [node(), node({ name: 'dir', type: 'dir', content: undefined, subtree: 'cd'.repeat(32), mode: 0o2755 })] };
    expect(decodeTree(encodeTree(tree), 'x')).toEqual(JSON.parse(JSON.stringify(tree)));
  });

  it('is deterministic, so identical directories deduplicate', () => {
    const nodes = [node(), node({ name: 'b' })];
    expect(encodeTree({ nodes }).equals(encodeTree({ nodes: nodes.map((n) => ({ ...n })) }))).toBe(true);
  });

  it.each([
    ['not JSON', Buffer.from('{nodes:')],
    ['no nodes', Buffer.from('{}')],
    ['nodes not an array', Buffer.from('{"nodes":{}}')],
    ['null', Buffer.from('null')],
    ['empty', Buffer.alloc(0)],
  ])('rejects %s with integrity.tree_malformed', (_label, bytes) => {
    expect(thrownCode(() => decodeTree(bytes, 'abc'))).toBe('integrity.tree_malformed');
  });
});
