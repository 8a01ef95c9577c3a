#!/usr/bin/env node
// The S3 emulator for the benchmark's S3 rows, in a process of its own (the benchmark waits on child
// processes synchronously at times, which would freeze an emulator in its own event loop). Started the
// way test/harness/s3-emulator.ts starts it: fauxqs's app bound to 127.0.0.1 on a free port. Prints one
// JSON line `{"endpoint": …, "bucket": …}` once ready; stops on SIGTERM.
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { buildApp } from 'fauxqs';

const bucket = process.argv[2] ?? 'chrono-bench';
const app = buildApp({ logger: false });
const endpoint = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
const client = new S3Client({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench-secret' }, forcePathStyle: true });
await client.send(new CreateBucketCommand({ Bucket: bucket }));
client.destroy();
process.stdout.write(`${JSON.stringify({ endpoint, bucket })}\n`);
process.on('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
