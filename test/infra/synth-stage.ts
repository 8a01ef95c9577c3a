import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp, type BuiltApp } from '../../infra/app.js';
import { API_ENTRY } from '../../infra/stacks/chrono-backup-stack.js';

/** The repository root (tests run from it; infra reads functions/, statemachines/, containers/ from here). */
export const REPOSITORY_ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

/** The API Lambda's entry, as the stack builds it. */
export const TEST_API_ENTRY = API_ENTRY;

export interface SynthesizedStage extends BuiltApp {
  readonly template: Template;
  /** The synthesized CloudFormation template as JSON. */
  readonly json: CloudFormationTemplate;
  /** Every cdk-nag acknowledgement in the app: rule id → reason, with the construct path. */
  readonly acknowledgements: { path: string; id: string; reason: unknown }[];
}

export interface CloudFormationTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
  Outputs?: Record<string, unknown>;
}

/**
 * Synthesizes one stage in-process, the way `cdk synth` does, with cdk-nag's AwsSolutions checks as a
 * validation plugin: `app.synth()` throws on any unacknowledged finding. Lambda bundling is skipped
 * (`aws:cdk:bundling-stacks: []`; test/infra/cdk-cli.test.ts covers real bundling), and CloudFormation
 * schema validation runs only in the CLI test, so one synth takes a few seconds.
 */
export function synthStage(context: Record<string, unknown>): SynthesizedStage {
  const outdir = mkdtempSync(path.join(tmpdir(), 'chrono-cdk-'));
  try {
    const built = buildApp({
      repositoryRoot: REPOSITORY_ROOT,
      apiEntry: TEST_API_ENTRY,
      outdir,
      builtinCloudFormationValidation: false,
      context: { 'aws:cdk:bundling-stacks': [], ...context },
    });
    const assembly = built.app.synth();
    const json = JSON.parse(readFileSync(path.join(assembly.directory, `${built.stack.artifactId}.template.json`), 'utf8')) as CloudFormationTemplate;
    const acknowledgements = built.app.node
      .findAll()
      .flatMap((construct) =>
        construct.node.metadata
          .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((entry) => Object.entries(entry.data as Record<string, unknown>).map(([id, reason]) => ({ path: construct.node.path, id, reason }))),
      );
    return { ...built, template: Template.fromJSON(json), json, acknowledgements };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Resources of one type, by logical id. */
export function resourcesOf(json: CloudFormationTemplate, type: string): [string, Record<string, unknown>][] {
  return Object.entries(json.Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([id, resource]) => [id, resource.Properties ?? {}]);
}

/** The single resource of a type (fails when there is not exactly one). */
export function onlyResource(json: CloudFormationTemplate, type: string): [string, Record<string, unknown>] {
  const found = resourcesOf(json, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0]!;
}

export interface PolicyStatementJson {
  Effect: string;
  Action: string | string[];
  Resource?: unknown;
  Condition?: Record<string, unknown>;
}

/** Actions of a statement as a list. */
export function actionsOf(statement: PolicyStatementJson): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

/** Every identity-policy statement attached to a role (AWS::IAM::Policy resources naming it, and its inline policies). */
export function roleStatements(json: CloudFormationTemplate, roleLogicalId: string): PolicyStatementJson[] {
  const attached = resourcesOf(json, 'AWS::IAM::Policy')
    .filter(([, policy]) => ((policy.Roles as unknown[]) ?? []).some((role) => JSON.stringify(role) === JSON.stringify({ Ref: roleLogicalId })))
    .flatMap(([, policy]) => (policy.PolicyDocument as { Statement: PolicyStatementJson[] }).Statement);
  const role = json.Resources[roleLogicalId]?.Properties ?? {};
  const inline = ((role.Policies as { PolicyDocument: { Statement: PolicyStatementJson[] } }[]) ?? []).flatMap((policy) => policy.PolicyDocument.Statement);
  return [...attached, ...inline];
}

/** The logical id that `{ "Fn::GetAtt": [id, "Arn"] }` or `{ Ref: id }` points at, if any. */
export function referencedId(value: unknown): string | undefined {
  if (value && typeof value === 'object') {
    const getAtt = (value as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
    if (getAtt) return getAtt[0];
    const ref = (value as { Ref?: string }).Ref;
    if (typeof ref === 'string') return ref;
  }
  return undefined;
}
