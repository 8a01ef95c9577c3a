/**
 * Logger: structured, levelled diagnostics for operators (JSON lines on stderr locally, CloudWatch in
 * AWS). Contract: fields are plain data; callers never pass credentials, connection strings with
 * passwords, key material or file contents, and implementations drop nothing but what the level
 * filters out.
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export type LogFields = Record<string, string | number | boolean | undefined | null | string[]>;
