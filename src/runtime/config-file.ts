import { readFile } from 'node:fs/promises';
import { NotFoundError, ValidationError } from '../domain/errors.js';

/**
 * Reads a YAML (or JSON, a subset of YAML) file of ours — plans, retention policies — into plain data.
 * `what` names the file in errors ("plan file"), `option` the command-line option that points at it.
 */
export async function readConfigFile(path: string, what: string, option: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(what, `${path} (write one, or pass ${option} FILE)`);
    throw error;
  }
  try {
    // Loaded on demand: every command would otherwise pay for the YAML parser at startup.
    const { parse } = await import('yaml');
    return parse(text) as unknown;
  } catch (error) {
    throw new ValidationError(`${what} ${path} is not valid YAML or JSON: ${(error as Error).message}`, option.replace(/^--/, ''));
  }
}
