import * as path from 'node:path';
import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CONTEXT_OVERRIDES, resolveStageConfig, type ContextOverrides, type StageConfig } from './config/stages.js';
import { ChronoBackupStack } from './stacks/chrono-backup-stack.js';

/*
 * The CDK app: one ChronoBackup-<stage> stack, the stage chosen by context (`-c stage=prod`), checked by
 * cdk-nag's AwsSolutions pack as a validation plugin, so a finding that is not acknowledged with a
 * reason fails synth. `npx cdk synth` runs infra/synth.mjs, which bundles this file with esbuild and
 * calls buildApp(); the tests call buildApp() in-process.
 */

export interface BuiltApp {
  readonly app: App;
  readonly stack: ChronoBackupStack;
  readonly config: StageConfig;
}

export interface BuildAppOptions extends AppProps {
  /** The repository checkout (default: the current directory, where cdk.json lives). */
  readonly repositoryRoot?: string;
  /** The API handler's entry relative to the repository root (default functions/api.ts; context `apiEntry`). */
  readonly apiEntry?: string;
}

/** Builds the app for the stage named in the context; throws a ValidationError naming a bad setting. */
export function buildApp(options: BuildAppOptions = {}): BuiltApp {
  const { repositoryRoot = process.cwd(), apiEntry, ...appProps } = options;
  const app = new App(appProps);
  const overrides: ContextOverrides = {};
  for (const key of Object.keys(CONTEXT_OVERRIDES) as (keyof ContextOverrides)[]) {
    const value: unknown = app.node.tryGetContext(key);
    if (value !== undefined) overrides[key] = String(value);
  }
  const config = resolveStageConfig(app.node.tryGetContext('stage'), overrides);
  const entry = apiEntry ?? (app.node.tryGetContext('apiEntry') as string | undefined);
  const stack = new ChronoBackupStack(app, `ChronoBackup-${config.stage}`, {
    config,
    repositoryRoot: path.resolve(repositoryRoot),
    ...(entry ? { apiEntry: entry } : {}),
    description: `Chrono Backup (${config.stage}): encrypted, deduplicating backups on S3, DynamoDB, Step Functions and Fargate`,
    tags: { project: 'chrono-backup', stage: config.stage },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack, config };
}
