import { Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/*
 * cdk-nag acknowledgements that several constructs share. cdk-nag 3 reports each wildcard of an IAM
 * policy as its own finding (`AwsSolutions-IAM5[Resource::<Logical.Arn>/*]`), so these helpers build
 * the exact finding ids from the resources' logical ids. Every acknowledgement carries its reason.
 */

/** The `<LogicalId.Arn>` form in which cdk-nag names a resource's ARN inside a finding id. */
export function arnToken(resource: IConstruct): string {
  const element = resource.node.defaultChild as CfnElement | undefined;
  if (!element) throw new Error(`${resource.node.path} has no CloudFormation resource`);
  return `<${Stack.of(resource).getLogicalId(element)}.Arn>`;
}

/** Acknowledges one wildcard resource finding (AwsSolutions-IAM5) on a role. */
export function acknowledgeWildcardResource(role: IConstruct, resource: string, reason: string): void {
  Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason });
}

/** X-Ray's trace-writing actions have no resource-level permissions (`Resource: *`). */
export function acknowledgeTracing(role: IConstruct, extra = ''): void {
  acknowledgeWildcardResource(role, '*', `X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions${extra}.`);
}
