import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { encryptedLogGroup, type LogSettings } from './log-groups.js';

/** The Cognito groups the API's role-based access control reads from the token (`cognito:groups`). */
export const API_GROUPS = ['admin', 'operator', 'viewer', 'auditor'] as const;

export interface ApiProps {
  readonly stage: string;
  readonly handler: lambda.IFunction;
  readonly allowedSourceCidrs: readonly string[];
  /** Origin of the admin dashboard (CORS). */
  readonly dashboardOrigin: string;
  readonly logs: LogSettings;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The REST API: API Gateway in front of one Lambda (functions/api.ts, a proxy handler that routes
 * itself), every method behind a Cognito user pool authorizer; users belong to the groups admin,
 * operator, viewer or auditor. When the stage lists source CIDRs, a resource policy denies every other
 * address before the authorizer runs.
 */
export class ChronoApi extends Construct {
  readonly api: apigateway.RestApi;
  readonly userPool: cognito.UserPool;
  readonly dashboardClient: cognito.UserPoolClient;
  /** The client `POST /api/v1/auth/login` signs in through (InitiateAuth USER_PASSWORD_AUTH; MFA still applies). */
  readonly apiClient: cognito.UserPoolClient;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    this.userPool = new cognito.UserPool(this, 'Users', {
      userPoolName: `chrono-backup-${props.stage}`,
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      passwordPolicy: { minLength: 12, requireLowercase: true, requireUppercase: true, requireDigits: true, requireSymbols: true },
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      featurePlan: cognito.FeaturePlan.ESSENTIALS,
      removalPolicy: props.removalPolicy,
      deletionProtection: props.removalPolicy === RemovalPolicy.RETAIN,
    });
    for (const group of API_GROUPS) {
      new cognito.CfnUserPoolGroup(this, `Group-${group}`, { userPoolId: this.userPool.userPoolId, groupName: group, description: `Chrono Backup ${group}` });
    }
    this.dashboardClient = this.userPool.addClient('Dashboard', {
      authFlows: { userSrp: true },
      generateSecret: false,
      preventUserExistenceErrors: true,
    });
    this.apiClient = this.userPool.addClient('ApiLogin', {
      authFlows: { userPassword: true },
      generateSecret: false,
      preventUserExistenceErrors: true,
    });
    const plusPlan = 'needs the Cognito Plus plan (priced per monthly active user); the pool has no self sign-up, MFA is required, and an optional source-IP allow-list guards the API.';
    Validations.of(this.userPool).acknowledge(
      { id: 'AwsSolutions-COG3', reason: `Threat protection (advanced security) ${plusPlan}` },
      { id: 'AwsSolutions-COG8', reason: `The Plus feature plan ${plusPlan}` },
    );

    const authorizer = new apigateway.CognitoUserPoolsAuthorizer(this, 'Authorizer', { cognitoUserPools: [this.userPool] });
    const allowList = props.allowedSourceCidrs.length > 0;
    this.api = new apigateway.RestApi(this, 'Api', {
      restApiName: `chrono-backup-${props.stage}`,
      description: 'Chrono Backup REST API',
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.DESTROY,
      deployOptions: {
        stageName: props.stage,
        accessLogDestination: new apigateway.LogGroupLogDestination(encryptedLogGroup(this, 'AccessLogs', props.logs)),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: true,
      },
      defaultCorsPreflightOptions: {
        allowOrigins: [props.dashboardOrigin],
        allowHeaders: ['Authorization', 'Content-Type'],
        allowMethods: apigateway.Cors.ALL_METHODS,
      },
      defaultMethodOptions: { authorizer, authorizationType: apigateway.AuthorizationType.COGNITO },
      ...(allowList ? { policy: sourceIpPolicy(props.allowedSourceCidrs) } : {}),
    });
    this.api.root.addProxy({ defaultIntegration: new apigateway.LambdaIntegration(props.handler), anyMethod: true });

    Validations.of(this.api).acknowledge(
      { id: 'AwsSolutions-APIG2', reason: 'The API Lambda validates every request body and query against its schemas (src/api/validation.ts) and answers 400 naming the field.' },
      { id: 'AwsSolutions-APIG3', reason: 'Every method needs a Cognito token and the stage can restrict source addresses; a WAF web ACL can be attached by the operator.' },
      { id: 'AwsSolutions-APIG4', reason: 'Only the CORS preflight (OPTIONS) methods are unauthenticated: browsers send preflights without credentials.' },
      { id: 'AwsSolutions-COG4', reason: 'Only the CORS preflight (OPTIONS) methods have no Cognito authorizer: browsers send preflights without credentials.' },
      { id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]', reason: 'The account-level API Gateway logging role needs the AWS managed push-to-CloudWatch policy.' },
    );
  }

  /** The API's base URL (ends in `/`). */
  get url(): string {
    return this.api.url;
  }
}

function sourceIpPolicy(cidrs: readonly string[]): iam.PolicyDocument {
  const invoke = { principals: [new iam.AnyPrincipal()], actions: ['execute-api:Invoke'], resources: ['execute-api:/*'] };
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({ ...invoke, effect: iam.Effect.ALLOW }),
      new iam.PolicyStatement({ ...invoke, effect: iam.Effect.DENY, conditions: { NotIpAddress: { 'aws:SourceIp': [...cidrs] } } }),
    ],
  });
}
