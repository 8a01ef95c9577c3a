import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PhysicalTablespace } from '../../../src/domain/snapshot.js';
import {
  createTablespaceDirectories,
  formatTablespaceMap,
  parseTablespaceMappings,
  placeTablespaces,
  removeTablespaceDirectories,
  tablespaceFileName,
} from '../../../src/pitr/tablespaces.js';

describe('parseTablespaceMappings', () => {
  it('maps OLD to NEW, normalising both paths', () => {
    expect(parseTablespaceMappings(['/srv/ts1/=/data/ts1', '/srv/a/../ts2=/data/ts2'])).toEqual(
      new Map([
        ['/srv/ts1', '/data/ts1'],
        ['/srv/ts2', '/data/ts2'],
      ]),
    );
    expect(parseTablespaceMappings([])).toEqual(new Map());
  });

  it('reads \\= as an equal sign inside a path, like pg_basebackup', () => {
    expect(parseTablespaceMappings(['/srv/a\\=b=/data/c\\=d'])).toEqual(new Map([['/srv/a=b', '/data/c=d']]));
  });

  it.each([
    ['/srv/ts1', /must be OLDDIR=NEWDIR/],
    ['=/data/ts1', /must be OLDDIR=NEWDIR/],
    ['/srv/ts1=', /must be OLDDIR=NEWDIR/],
    ['/srv/ts1=/data=/x', /multiple "=" signs/],
    ['srv/ts1=/data/ts1', /old directory is not an absolute path/],
    ['/srv/ts1=data/ts1', /new directory is not an absolute path/],
  ])('refuses %s', (value, message) => {
    expect(() => parseTablespaceMappings([value])).toThrow(message);
  });

  it('refuses a location mapped twice', () => {
    expect(() => parseTablespaceMappings(['/srv/ts1=/a', '/srv/ts1/=/b'])).toThrow(/mapped twice/);
  });
});

describe('placeTablespaces', () => {
  let root: string;
  const ts = (oid: number, location: string): PhysicalTablespace => ({ oid, name: `ts${oid}`, location, file: tablespaceFileName(oid) });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'chrono-ts-unit-'));
    await mkdir(join(root, 'used'));
    await writeFile(join(root, 'used', 'PG_15_202209061'), '');
    await mkdir(join(root, 'empty'));
    await writeFile(join(root, 'file'), '');
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  it('keeps an absent or empty original location and maps the others', async () => {
    const placements = await placeTablespaces([ts(16384, join(root, 'absent')), ts(16385, join(root, 'empty')), ts(16386, join(root, 'used'))], parseTablespaceMappings([`${join(root, 'used')}=${join(root, 'moved')}`]), join(root, 'data'));
    expect(placements.map((p) => [p.tablespace.oid, p.directory, p.created])).toEqual([
      [16384, join(root, 'absent'), true],
      [16385, join(root, 'empty'), false],
      [16386, join(root, 'moved'), true],
    ]);
    expect(formatTablespaceMap(placements)).toBe(`16384 ${join(root, 'absent')}\n16385 ${join(root, 'empty')}\n16386 ${join(root, 'moved')}\n`);
  });

  it('refuses an unmapped location in use, naming the tablespace, the location and the option', async () => {
    const refused = placeTablespaces([ts(16386, join(root, 'used'))], new Map(), join(root, 'data'));
    await expect(refused).rejects.toThrow(`tablespace "ts16386" (oid 16386) was at ${join(root, 'used')}, which is in use (not empty); restore it elsewhere with --tablespace-mapping ${join(root, 'used')}=NEWDIR`);
  });

  it('refuses a mapping to a directory in use or to a file, a mapping no tablespace has, a target in the data directory and two tablespaces in one place', async () => {
    const data = join(root, 'data');
    await expect(placeTablespaces([ts(1, '/srv/a')], parseTablespaceMappings([`/srv/a=${join(root, 'used')}`]), data)).rejects.toThrow(/is mapped to .* which is not empty/);
    await expect(placeTablespaces([ts(1, '/srv/a')], parseTablespaceMappings([`/srv/a=${join(root, 'file')}`]), data)).rejects.toThrow(/not a directory/);
    await expect(placeTablespaces([ts(1, '/srv/a')], parseTablespaceMappings(['/srv/b=/x']), data)).rejects.toThrow(/no tablespace of this base backup was at \/srv\/b/);
    await expect(placeTablespaces([], parseTablespaceMappings(['/srv/b=/x']), data)).rejects.toThrow(/locations: none/);
    await expect(placeTablespaces([ts(1, '/srv/a')], parseTablespaceMappings([`/srv/a=${join(data, 'ts')}`]), data)).rejects.toThrow(/inside the data directory/);
    await expect(placeTablespaces([ts(1, '/srv/a'), ts(2, '/srv/b')], parseTablespaceMappings(['/srv/a=/x/y', '/srv/b=/x/y/z']), data)).rejects.toThrow(/both be restored under/);
  });

  it('escapes backslashes and line breaks in tablespace_map as PostgreSQL does', () => {
    expect(formatTablespaceMap([{ tablespace: ts(7, '/a'), directory: '/x\\y\nz', created: true }])).toBe('7 /x\\\\y\\\nz\n');
  });

  it('creates the directories and, undoing, removes what it created and empties the rest', async () => {
    const placements = await placeTablespaces([ts(1, join(root, 'new1')), ts(2, join(root, 'empty'))], new Map(), join(root, 'data'));
    await createTablespaceDirectories(placements);
    expect((await stat(join(root, 'new1'))).mode & 0o777).toBe(0o700);
    await writeFile(join(root, 'new1', 'x'), '');
    await writeFile(join(root, 'empty', 'y'), '');
    await removeTablespaceDirectories(placements);
    await expect(stat(join(root, 'new1'))).rejects.toThrow(/ENOENT/);
    expect(await readdir(join(root, 'empty'))).toEqual([]);
  });
});
