import { BlobServiceClient } from '@azure/storage-blob';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { spawnUntilReady } from './child-process.js';

/** Azurite's well-known development account (published in its documentation; not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** A running azurite Blob service and how to stop it. */
export interface AzuriteHandle {
  /** `http://127.0.0.1:<port>/devstoreaccount1` */
  blobEndpoint: string;
  /** A connection string for the development account, as AZURE_STORAGE_CONNECTION_STRING would hold it. */
  connectionString: string;
  createContainer: (name: string) => Promise<void>;
  stop: () => Promise<void>;
}

/**
 * Starts azurite's Blob service as a child process on 127.0.0.1 and a port it picks itself (read back
 * from its start-up line), keeping blobs in memory. `--skipApiVersionCheck` lets a newer SDK talk to it.
 */
export async function startAzurite(): Promise<AzuriteHandle> {
  const main = join(dirname(createRequire(import.meta.url).resolve('azurite/package.json')), 'dist', 'src', 'blob', 'main.js');
  const { handle, value: url } = await spawnUntilReady(
    process.execPath,
    [main, '--blobHost', '127.0.0.1', '--blobPort', '0', '--inMemoryPersistence', '--extentMemoryLimit', '1024', '--skipApiVersionCheck', '--disableTelemetry', '--silent'],
    (output) => /successfully listens on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1],
  );
  const blobEndpoint = `${url}/${AZURITE_ACCOUNT}`;
  const connectionString = `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${blobEndpoint};`;
  const service = BlobServiceClient.fromConnectionString(connectionString);
  return {
    blobEndpoint,
    connectionString,
    createContainer: async (name) => {
      await service.getContainerClient(name).create();
    },
    stop: () => handle.stop(),
  };
}
