import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as deployment from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { arnToken } from './acknowledgements.js';

/**
 * The dashboard's built files (dashboard/dist) when present, else infra/placeholder-site: synth never
 * depends on a dashboard build.
 */
export function dashboardAssets(repositoryRoot: string): string {
  const built = path.join(repositoryRoot, 'dashboard', 'dist');
  return existsSync(path.join(built, 'index.html')) ? built : path.join(repositoryRoot, 'infra', 'placeholder-site');
}

export interface AdminSiteProps {
  readonly repositoryRoot: string;
  readonly removalPolicy: RemovalPolicy;
  readonly accessLogs: s3.IBucket;
}

/**
 * The admin dashboard: a private bucket served by CloudFront through Origin Access Control. It holds
 * static files only (no backup data), so it uses SSE-S3, which CloudFront reads without a key grant.
 * `deploy(config)` uploads the files and a `config.json` whose values (the API URL, the user pool) are
 * resolved at deploy time.
 */
export class AdminSite extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;

  constructor(scope: Construct, id: string, private readonly props: AdminSiteProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: false,
      serverAccessLogsBucket: props.accessLogs,
      serverAccessLogsPrefix: 'site-bucket/',
    });
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Chrono Backup admin dashboard',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
      },
      defaultRootObject: 'index.html',
      // Client-side routes: unknown paths serve the app, which renders its own "not found".
      errorResponses: [{ httpStatus: 403, responseHttpStatus: 200, responsePagePath: '/index.html' }],
      enableLogging: true,
      logBucket: props.accessLogs,
      logFilePrefix: 'cloudfront/',
    });
    Validations.of(this.distribution).acknowledge(
      { id: 'AwsSolutions-CFR1', reason: 'Operators sign in from anywhere; access is controlled by Cognito and the API allow-list, not by geography.' },
      { id: 'AwsSolutions-CFR2', reason: 'The distribution serves static files only; the API it calls has its own authorizer and optional source-IP allow-list.' },
      { id: 'AwsSolutions-CFR4', reason: 'The default *.cloudfront.net certificate always allows TLSv1; a custom domain with its own certificate can enforce TLS 1.2.' },
    );
  }

  /** `https://<distribution domain>`: the dashboard's origin, for CORS. */
  get origin(): string {
    return `https://${this.distribution.distributionDomainName}`;
  }

  /** Uploads the dashboard files and its runtime configuration (`config.json`). */
  deploy(config: Record<string, string>): deployment.BucketDeployment {
    const upload = new deployment.BucketDeployment(this, 'Deploy', {
      destinationBucket: this.bucket,
      sources: [deployment.Source.asset(dashboardAssets(this.props.repositoryRoot)), deployment.Source.jsonData('config.json', config)],
      distribution: this.distribution,
      distributionPaths: ['/index.html', '/config.json'],
      prune: true,
      memoryLimit: 512,
    });
    this.acknowledgeDeploymentHandler();
    return upload;
  }

  /** The CDK's own BucketDeployment handler (one per stack) runs only at deploy time, on the site bucket. */
  private acknowledgeDeploymentHandler(): void {
    const stack = Stack.of(this);
    const handler = stack.node.children.find((child) => child.node.id.startsWith('Custom::CDKBucketDeployment'));
    if (!handler) throw new Error('BucketDeployment handler not found: the CDK changed its construct id');
    const role = 'The CDK BucketDeployment handler (deploy time only) copies the dashboard files from the CDK asset bucket to the site bucket';
    Validations.of(handler).acknowledge(
      { id: 'AwsSolutions-L1', reason: 'The CDK BucketDeployment handler runtime is chosen by aws-cdk-lib, not by this app.' },
      { id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', reason: `${role}; it logs through the AWS basic execution policy.` },
      ...['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*'].map((action) => ({ id: `AwsSolutions-IAM5[Action::${action}]`, reason: `${role}; aws-cdk-lib grants it these action groups on those two buckets only.` })),
      { id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]`, reason: `${role}; it reads the staged asset from the bootstrap asset bucket.` },
      { id: `AwsSolutions-IAM5[Resource::${arnToken(this.bucket)}/*]`, reason: `${role}; it replaces every file of the site bucket.` },
      { id: 'AwsSolutions-IAM5[Resource::*]', reason: `${role}; CloudFront invalidations support no resource-level permissions.` },
    );
  }
}
