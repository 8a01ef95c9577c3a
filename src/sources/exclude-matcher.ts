import picomatch from 'picomatch';

/**
 * Exclusion globs as people write them for backup tools: a pattern without `/` matches a name at any
 * depth (`*.log`, `node_modules`); one with `/` matches the path relative to the backed-up path
 * (`cache/**` for `/srv/app/cache/x` when backing up `/srv/app`), or the absolute path when it starts with `/`. An excluded directory is not descended.
 */
export type ExcludeMatcher = (absolutePath: string, relativePath: string) => boolean;

export function excludeMatcher(patterns: readonly string[]): ExcludeMatcher {
  if (patterns.length === 0) return () => false;
  const names = patterns.filter((p) => !p.includes('/'));
  const relative = patterns.filter((p) => p.includes('/') && !p.startsWith('/'));
  const absolute = patterns.filter((p) => p.startsWith('/'));
  const byName = names.length > 0 ? picomatch(names, { dot: true }) : () => false;
  const byRelative = relative.length > 0 ? picomatch(relative, { dot: true }) : () => false;
  const byAbsolute = absolute.length > 0 ? picomatch(absolute, { dot: true }) : () => false;
  return (absolutePath, relativePath) => {
    const name = relativePath.slice(relativePath.lastIndexOf('/') + 1);
    return byName(name) || byRelative(relativePath) || byAbsolute(absolutePath);
  };
}
