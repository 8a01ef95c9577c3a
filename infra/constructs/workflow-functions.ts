import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { LAMBDA_FUNCTIONS, type FunctionKey } from '../../src/workflows/substitutions.js';
import { acknowledgeTracing } from './acknowledgements.js';
import { ACCESS_PROFILES, grantProfile, type AccessProfile, type DataStores } from './access.js';
import { encryptedLogGroup, type LogSettings } from './log-groups.js';

/**
 * The Lambda runtime of every function: the newest Node.js Lambda offers (the code targets Node ≥ 20;
 * lz4's nan addon is ABI-specific and falls back to its JavaScript implementation when it cannot load).
 */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * esbuild settings shared by every function: one ESM file per entry with the AWS SDK bundled (the
 * versions we test with, not the runtime's), `require` provided for the CommonJS dependencies, and the
 * native addons the repository codec loads (zstd-napi, lz4) copied beside the bundle as `.node` files.
 * esbuild runs locally from node_modules, so synth needs neither Docker nor the network.
 */
const REQUIRE_BANNER = "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";
const RESOLVE_EXTENSIONS = '.ts,.js,.mjs,.cjs,.json,.node';

/**
 * The repository's worker threads (src/repository/blob-pool.ts) load `blob-worker.js` beside the module
 * that starts them — in a bundle, beside index.mjs. So each bundle also gets blob-worker.js, bundled the
 * same way, and a package.json that makes `.js` files ES modules.
 */
function blobWorkerCommands(inputDir: string, outputDir: string): string[] {
  const esbuild = `"${inputDir}/node_modules/.bin/esbuild"`;
  return [
    `${esbuild} "${inputDir}/src/repository/blob-worker.ts" --bundle --platform=node --format=esm --target=node20 --minify --sourcemap --loader:.node=copy --resolve-extensions=${RESOLVE_EXTENSIONS} --external:cpu-features --log-level=warning "--banner:js=${REQUIRE_BANNER}" "--outfile=${outputDir}/blob-worker.js"`,
    `echo '{"type":"module"}' > "${outputDir}/package.json"`,
  ];
}

export const BUNDLING: nodejs.BundlingOptions = {
  format: nodejs.OutputFormat.ESM,
  target: 'node20',
  platform: 'node',
  mainFields: ['module', 'main'],
  minify: true,
  sourceMap: true,
  banner: REQUIRE_BANNER,
  loader: { '.node': 'copy' },
  // ssh2 loads cpu-features optionally (inside try/catch); it is an optimisation we do not need.
  externalModules: ['cpu-features'],
  esbuildArgs: { '--resolve-extensions': RESOLVE_EXTENSIONS },
  forceDockerBundling: false,
  commandHooks: {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: blobWorkerCommands,
  },
};

export interface ChronoFunctionProps {
  readonly repositoryRoot: string;
  /** Entry file relative to the repository root; exports `handler`. */
  readonly entry: string;
  readonly description: string;
  readonly environment: Record<string, string>;
  readonly logs: LogSettings;
  readonly timeout: Duration;
  readonly memorySize?: number;
}

/**
 * One Lambda: bundled from its entry with esbuild, its own role (no managed policies: only its log
 * group and what the caller grants), its own encrypted log group, X-Ray tracing.
 */
export class ChronoFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: ChronoFunctionProps) {
    super(scope, id);
    this.role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: `Chrono Backup ${props.entry}` });
    const logGroup = encryptedLogGroup(this, 'Logs', props.logs);
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(props.repositoryRoot, props.entry),
      handler: 'handler',
      projectRoot: props.repositoryRoot,
      depsLockFilePath: path.join(props.repositoryRoot, 'package-lock.json'),
      runtime: FUNCTION_RUNTIME,
      architecture: lambda.Architecture.X86_64,
      description: props.description,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout,
      role: this.role,
      logGroup,
      tracing: lambda.Tracing.ACTIVE,
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
      bundling: BUNDLING,
    });
    logGroup.grantWrite(this.role);
    acknowledgeTracing(this.role);
  }
}

/** The base name of an entry file (`functions/record-failure.ts` → `record-failure`): its access profile's name. */
export function entryName(entry: string): string {
  return path.basename(entry, '.ts');
}

/** Per-step sizing: the repository steps read and write packs; the catalog-only steps are small and quick. */
const STEP_SIZING: Record<FunctionKey, { memorySize: number; timeout: Duration }> = {
  PrepareFunctionArn: { memorySize: 1024, timeout: Duration.minutes(5) },
  RecordFunctionArn: { memorySize: 512, timeout: Duration.minutes(1) },
  RecordFailureFunctionArn: { memorySize: 512, timeout: Duration.minutes(1) },
  VerifyFunctionArn: { memorySize: 2048, timeout: Duration.minutes(15) },
  ReplicateFunctionArn: { memorySize: 2048, timeout: Duration.minutes(15) },
  RetentionFunctionArn: { memorySize: 2048, timeout: Duration.minutes(15) },
  NotifyFunctionArn: { memorySize: 512, timeout: Duration.minutes(1) },
  ReleaseFunctionArn: { memorySize: 256, timeout: Duration.minutes(1) },
};

export interface WorkflowFunctionsProps {
  readonly repositoryRoot: string;
  readonly stores: DataStores;
  readonly logs: LogSettings;
  readonly environment: Record<string, string>;
  /** Extra environment per entry name (e.g. notify's alert recipients). */
  readonly extraEnvironment?: Partial<Record<string, Record<string, string>>>;
}

/** The workflow step Lambdas (src/workflows/substitutions.ts: LAMBDA_FUNCTIONS), each granted its access profile. */
export class WorkflowFunctions extends Construct {
  readonly functions: Record<FunctionKey, ChronoFunction>;

  constructor(scope: Construct, id: string, props: WorkflowFunctionsProps) {
    super(scope, id);
    const entries = Object.entries(LAMBDA_FUNCTIONS) as [FunctionKey, (typeof LAMBDA_FUNCTIONS)[FunctionKey]][];
    this.functions = Object.fromEntries(
      entries.map(([key, { step, entry }]) => {
        const name = entryName(entry);
        const fn = new ChronoFunction(this, step, {
          repositoryRoot: props.repositoryRoot,
          entry,
          description: `Chrono Backup workflow step ${step}`,
          environment: { ...props.environment, ...props.extraEnvironment?.[name] },
          logs: props.logs,
          ...STEP_SIZING[key],
        });
        grantProfile(fn.role, props.stores, profileOf(name));
        return [key, fn];
      }),
    ) as Record<FunctionKey, ChronoFunction>;
  }
}

/** The access profile of an entry, by name; an entry without one is a mistake caught at synth. */
export function profileOf(name: string): AccessProfile {
  const profile = (ACCESS_PROFILES as Record<string, AccessProfile>)[name];
  if (!profile) throw new Error(`no access profile for ${name}: add it to infra/constructs/access.ts`);
  return profile;
}
