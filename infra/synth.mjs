// `npx cdk synth` entry (cdk.json "app"): bundles infra/app.ts with esbuild (packages stay external, so
// this takes well under a second) and synthesizes it. No TypeScript runner is needed at synth time.
// CHRONO_SYNTH_SKIP_BUNDLING=1 skips the Lambda bundles (templates only; a deploy needs them).
import { build } from 'esbuild';
import { pathToFileURL } from 'node:url';
import * as path from 'node:path';

// The bundle goes to node_modules/.cache: ignored by git and lint, and packages resolve from there.
const outfile = path.resolve('node_modules', '.cache', 'chrono-backup-cdk', 'app.mjs');
await build({ entryPoints: [path.resolve('infra', 'app.ts')], outfile, bundle: true, packages: 'external', platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning' });
const { buildApp } = await import(pathToFileURL(outfile).href);
const skipBundling = process.env.CHRONO_SYNTH_SKIP_BUNDLING === '1';
buildApp(skipBundling ? { context: { 'aws:cdk:bundling-stacks': [] } } : {}).app.synth();
