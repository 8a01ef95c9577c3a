import type { Command } from 'commander';
import { sendTestAlert } from '../../alerts/test-alert.js';
import { localSettings } from '../../runtime/local-settings.js';
import { jsonLogger } from '../../util/json-logger.js';
import { type GlobalOptions, print } from '../command-support.js';
import { EXIT } from '../exit-codes.js';
import { formatTable } from '../format.js';

/** `chrono-backup alerts test [--type T]`: sends a sample alert through every configured channel. Exits 1 when any channel failed. */
export function registerAlertCommands(program: Command): void {
  const alerts = program.command('alerts').description('alert channels (email, Slack, webhook) configured by the environment');
  alerts
    .command('test')
    .description('send a sample alert through every configured channel and report each one')
    .option('--type <type>', 'the alert type to simulate', 'backup_failed')
    .action(async (opts: { type: string }, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions>();
      const logger = jsonLogger(localSettings(process.env, options.repo ? { repository: options.repo } : {}).logLevel);
      const result = await sendTestAlert(process.env, opts.type, logger);
      print(options, result, () => formatTable(['CHANNEL', 'STATUS', 'ERROR'], result.channels.map((each) => [each.channel, each.ok ? 'delivered' : 'FAILED', each.error ? `${each.error.message} [${each.error.code}]` : ''])));
      if (result.channels.some((each) => !each.ok)) process.exitCode = EXIT.failure;
    });
}
