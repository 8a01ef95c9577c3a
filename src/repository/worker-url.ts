/**
 * URL of a compiled sibling module for `new Worker()`. Worker threads load plain JavaScript; when the
 * caller itself runs from TypeScript sources (under Jest), the compiled twin in dist/ is used instead.
 */
export function compiledSiblingUrl(callerUrl: string, fileName: string): URL {
  const url = new URL(fileName, callerUrl);
  if (!callerUrl.endsWith('.ts')) return url;
  const href = url.href;
  const at = href.lastIndexOf('/src/');
  return new URL(`${href.slice(0, at)}/dist/${href.slice(at + 5)}`);
}
