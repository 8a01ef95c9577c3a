import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import type { NetworkConfig } from '../config/stages.js';
import { encryptedLogGroup, type LogSettings } from './log-groups.js';

/**
 * The VPC the worker runs in: created (private subnets with NAT for ECR and the databases' networks,
 * free gateway endpoints so S3 and DynamoDB traffic skips the NAT, flow logs) or imported from ids given
 * in the stage settings — `Vpc.fromVpcAttributes`, never a lookup, so synth needs no AWS credentials.
 */
export class Network extends Construct {
  readonly vpc: ec2.IVpc;
  readonly workerSubnets: ec2.ISubnet[];

  constructor(scope: Construct, id: string, props: { readonly network: NetworkConfig; readonly logs: LogSettings }) {
    super(scope, id);
    const network = props.network;
    if (network.kind === 'import') {
      this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
        vpcId: network.vpcId,
        availabilityZones: [...network.availabilityZones],
        privateSubnetIds: [...network.privateSubnetIds],
      });
      this.workerSubnets = this.vpc.privateSubnets;
      return;
    }
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: network.maxAzs,
      natGateways: network.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'worker', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
        DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
      },
      restrictDefaultSecurityGroup: false,
    });
    vpc.addFlowLog('FlowLog', { destination: ec2.FlowLogDestination.toCloudWatchLogs(encryptedLogGroup(this, 'FlowLogs', props.logs)) });
    this.vpc = vpc;
    this.workerSubnets = vpc.privateSubnets;
  }
}
