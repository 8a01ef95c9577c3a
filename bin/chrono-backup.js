#!/usr/bin/env node
// The CLI runs from the compiled output; `npm install` builds it (the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// The AWS SDK warns on every S3 command that Node 20 support ends; the project supports Node 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// PostgreSQL starts wal-push / wal-fetch once per WAL file: they have a lean entry (dist/pitr/wal-cli.js),
// which also runs wal-push-daemon, the background pusher that `wal-push --async` starts.
const command = process.argv.slice(2).find((arg, i, args) => !arg.startsWith('-') && args[i - 1] !== '--repo');
const lean = command === 'wal-push' || command === 'wal-fetch' || command === 'wal-push-daemon';
const entry = new URL(lean ? '../dist/pitr/wal-cli.js' : '../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('chrono-backup is not built yet: run `npm install` (or `npm run build`) in the project folder\n');
  process.exit(1);
}
const { main } = await import(entry.href);
await main(process.argv);
