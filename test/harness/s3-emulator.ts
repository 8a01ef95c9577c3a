import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { buildApp } from 'fauxqs';

/** A running S3 emulator and how to stop it. */
export interface S3EmulatorHandle {
  /** `http://127.0.0.1:<port>`: use with path-style addressing. */
  endpoint: string;
  region: string;
  /** Static test credentials; the emulator accepts any. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** A client for the emulator (path style, test credentials). */
  client: () => S3Client;
  createBucket: (name: string) => Promise<void>;
  stop: () => Promise<void>;
}

/**
 * Starts fauxqs's S3 API in this process on 127.0.0.1 and a free port. fauxqs keeps objects in memory,
 * understands the SDK's default request checksums and aws-chunked uploads, and serves ranged GETs and
 * multipart uploads. Its own `startFauxqs` listens on every interface, so the app is built and bound
 * to loopback here instead.
 */
export async function startS3Emulator(): Promise<S3EmulatorHandle> {
  const app = buildApp({ logger: false });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const endpoint = address.replace('localhost', '127.0.0.1');
  const region = 'us-east-1';
  const credentials = { accessKeyId: 'chrono-test-access-key', secretAccessKey: 'chrono-test-secret-key-0123456789' };
  const client = () => new S3Client({ endpoint, region, credentials, forcePathStyle: true });
  const admin = client();
  return {
    endpoint,
    region,
    credentials,
    client,
    createBucket: async (name) => {
      await admin.send(new CreateBucketCommand({ Bucket: name }));
    },
    stop: async () => {
      admin.destroy();
      await app.close();
    },
  };
}
