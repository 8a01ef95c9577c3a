/** The parts of the untyped `lz4` package (LZ4 frame format) that Chrono Backup uses. */
declare module 'lz4' {
  export function encode(input: Buffer, options?: { highCompression?: boolean; blockMaxSize?: number }): Buffer;
  export function decode(input: Buffer): Buffer;
  const lz4: { encode: typeof encode; decode: typeof decode };
  export default lz4;
}
