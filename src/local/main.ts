import { asBackupError } from '../domain/errors.js';
import { startLocalServer } from './local-server.js';

/**
 * `npm start`: serves the API until SIGINT or SIGTERM, then shuts down cleanly: no new requests or jobs,
 * running jobs get CHRONO_BACKUP_SHUTDOWN_GRACE seconds (default 30) to finish and are otherwise marked
 * interrupted, never left "running".
 */
async function main(): Promise<void> {
  const server = await startLocalServer({ env: process.env });
  process.stdout.write(`Chrono Backup API on ${server.url}/api/v1 (OpenAPI: ${server.url}/api/v1/openapi.json)\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    const graceMs = Number(process.env.CHRONO_BACKUP_SHUTDOWN_GRACE ?? 30) * 1000;
    process.stdout.write(`${signal}: stopping (running jobs get ${graceMs / 1000} s)\n`);
    server.close(graceMs).then(
      ({ interrupted }) => {
        process.stdout.write(`stopped${interrupted ? `; ${interrupted} job(s) marked interrupted` : ''}\n`);
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`error while stopping: ${asBackupError(error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`chrono-backup server: ${asBackupError(error).message}\n`);
  process.exit(1);
});
