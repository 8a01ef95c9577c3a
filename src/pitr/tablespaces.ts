import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type pg from 'pg';
import { ConflictError, ValidationError } from '../domain/errors.js';
import type { PhysicalTablespace } from '../domain/snapshot.js';

/** The snapshot file holding pg_basebackup's backup manifest when it is not inside base.tar (backups with tablespaces). */
export const MANIFEST_FILE = 'backup_manifest';

/** The file PostgreSQL reads at the start of recovery to create the pg_tblspc links (`<oid> <location>` lines). */
export const TABLESPACE_MAP = 'tablespace_map';

/** The CLI option that relocates a tablespace, named in errors that ask for it. */
const MAPPING_OPTION = '--tablespace-mapping';

/** The snapshot file name of a tablespace's archive (snapshot names are one path segment, so no `pg_tblspc/`). */
export function tablespaceFileName(oid: number): string {
  return `tablespace-${oid}.tar`;
}

/** A user tablespace as the server reports it. */
export interface UserTablespace {
  oid: number;
  name: string;
  location: string;
}

/** The server's user tablespaces (not pg_default/pg_global), by oid. */
export async function listUserTablespaces(client: pg.Client): Promise<UserTablespace[]> {
  const rows = (
    await client.query<{ oid: string; name: string; location: string }>(
      "SELECT oid::text AS oid, spcname AS name, pg_tablespace_location(oid) AS location FROM pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global') ORDER BY oid",
    )
  ).rows;
  return rows.map((row) => ({ oid: Number(row.oid), name: row.name, location: row.location }));
}

/** Original tablespace location → the directory to restore it into (both absolute, normalised). */
export type TablespaceMappings = Map<string, string>;

/**
 * Parses `--tablespace-mapping OLD=NEW` values with pg_basebackup's rules: both sides absolute, `\=`
 * stands for an `=` inside a path, one unescaped `=` per value. Paths are normalised (trailing slashes,
 * `..`) so that they compare with the locations the server reported. One OLD may be mapped only once.
 */
export function parseTablespaceMappings(values: readonly string[]): TablespaceMappings {
  const mappings: TablespaceMappings = new Map();
  for (const value of values) {
    const sides: string[] = [''];
    for (let i = 0; i < value.length; i++) {
      const char = value[i]!;
      if (char === '\\' && value[i + 1] === '=') {
        sides[sides.length - 1] += '=';
        i++;
      } else if (char === '=') {
        if (sides.length === 2) throw new ValidationError(`multiple "=" signs in tablespace mapping "${value}" (write \\= for an "=" inside a path)`, 'tablespace-mapping');
        sides.push('');
      } else sides[sides.length - 1] += char;
    }
    const [from, to] = sides;
    if (sides.length !== 2 || !from || !to) throw new ValidationError(`invalid tablespace mapping "${value}": must be OLDDIR=NEWDIR`, 'tablespace-mapping');
    if (!isAbsolute(from)) throw new ValidationError(`old directory is not an absolute path in tablespace mapping: ${from}`, 'tablespace-mapping');
    if (!isAbsolute(to)) throw new ValidationError(`new directory is not an absolute path in tablespace mapping: ${to}`, 'tablespace-mapping');
    const old = resolve(from);
    if (mappings.has(old)) throw new ValidationError(`tablespace location ${old} is mapped twice`, 'tablespace-mapping');
    mappings.set(old, resolve(to));
  }
  return mappings;
}

/** Where one tablespace of a base backup is restored. */
export interface TablespacePlacement {
  tablespace: PhysicalTablespace;
  directory: string;
  /** Whether the directory did not exist (the restore creates it, and removes it again if it fails). */
  created: boolean;
}

/**
 * Decides where each tablespace goes, checking everything before anything is written: a mapped
 * location goes to its new directory, an unmapped one to its original location. Each target must be
 * absent or an empty directory, distinct from the others and outside the data directory; an original
 * location in use is refused with an error naming the tablespace, the location and --tablespace-mapping.
 * A mapping whose OLD is not a location of this backup is refused too (a typo would otherwise restore
 * over the original location). Creates nothing.
 */
export async function placeTablespaces(tablespaces: readonly PhysicalTablespace[], mappings: TablespaceMappings, dataDirectory: string): Promise<TablespacePlacement[]> {
  const locations = new Set(tablespaces.map((t) => resolve(t.location)));
  for (const old of mappings.keys()) {
    if (!locations.has(old)) {
      const known = [...locations].join(', ') || 'none';
      throw new ValidationError(`${MAPPING_OPTION} ${old}=…: no tablespace of this base backup was at ${old} (its tablespace locations: ${known})`, 'tablespace-mapping');
    }
  }
  const placements: TablespacePlacement[] = [];
  for (const tablespace of tablespaces) {
    const original = resolve(tablespace.location);
    const mapped = mappings.get(original);
    const directory = mapped ?? original;
    const what = `tablespace "${tablespace.name}" (oid ${tablespace.oid})`;
    const inside = relative(dataDirectory, directory);
    if (inside === '' || (!inside.startsWith('..') && !isAbsolute(inside))) throw new ValidationError(`${what} cannot be restored to ${directory}, inside the data directory ${dataDirectory}`, 'tablespace-mapping');
    const clash = placements.find((p) => p.directory === directory || directory.startsWith(p.directory + sep) || p.directory.startsWith(directory + sep));
    if (clash) throw new ValidationError(`${what} and tablespace "${clash.tablespace.name}" would both be restored under ${directory}`, 'tablespace-mapping');
    const state = await directoryState(directory);
    if (state === 'not-directory') throw new ConflictError('tablespace_location_in_use', `${what} cannot be restored to ${directory}: it exists and is not a directory`, { details: { field: 'tablespace-mapping' } });
    if (state === 'not-empty') {
      const message = mapped
        ? `${what} is mapped to ${directory}, which is not empty; map it to a new or empty directory`
        : `${what} was at ${original}, which is in use (not empty); restore it elsewhere with ${MAPPING_OPTION} ${original}=NEWDIR (a new or empty directory)`;
      throw new ConflictError('tablespace_location_in_use', message, { details: { field: 'tablespace-mapping', tablespace: tablespace.name, location: original } });
    }
    placements.push({ tablespace, directory, created: state === 'absent' });
  }
  return placements;
}

async function directoryState(directory: string): Promise<'absent' | 'empty' | 'not-empty' | 'not-directory'> {
  const info = await stat(directory).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!info) return 'absent';
  if (!info.isDirectory()) return 'not-directory';
  return (await readdir(directory)).length === 0 ? 'empty' : 'not-empty';
}

/** Creates the placements' directories (0700, as PostgreSQL wants its tablespace directories). */
export async function createTablespaceDirectories(placements: readonly TablespacePlacement[]): Promise<void> {
  for (const placement of placements) await mkdir(placement.directory, { recursive: true, mode: 0o700 });
}

/** Undoes a failed restore: empties each directory (they were empty before) and removes the ones it created. */
export async function removeTablespaceDirectories(placements: readonly TablespacePlacement[]): Promise<void> {
  for (const placement of placements) {
    if (placement.created) await rm(placement.directory, { recursive: true, force: true });
    else for (const entry of await readdir(placement.directory).catch(() => [])) await rm(resolve(placement.directory, entry), { recursive: true, force: true });
  }
}

/**
 * The `tablespace_map` content for the restored locations: `<oid> <location>` lines with `\`, CR and LF
 * in a location escaped by a backslash, as PostgreSQL 15 writes and reads it (xlog.c).
 */
export function formatTablespaceMap(placements: readonly TablespacePlacement[]): string {
  return placements.map((p) => `${p.tablespace.oid} ${p.directory.replace(/[\\\r\n]/g, (c) => `\\${c}`)}\n`).join('');
}
