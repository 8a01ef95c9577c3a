import type * as kms from 'aws-cdk-lib/aws-kms';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

/**
 * Where alerts go: an SNS topic (encrypted with the project key, TLS only) that the CloudWatch alarms
 * publish to, with an optional e-mail subscription; and an optional SES identity from which the notify
 * step sends its own failure mail.
 */
export class Alerts extends Construct {
  readonly topic: sns.Topic;
  readonly sender?: ses.EmailIdentity;

  constructor(scope: Construct, id: string, props: { readonly stage: string; readonly key: kms.IKey; readonly email?: string; readonly sesSender?: string }) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', { displayName: `Chrono Backup ${props.stage} alerts`, masterKey: props.key, enforceSSL: true });
    if (props.email) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
    if (props.sesSender) {
      this.sender = new ses.EmailIdentity(this, 'Sender', {
        identity: props.sesSender.includes('@') ? ses.Identity.email(props.sesSender) : ses.Identity.domain(props.sesSender),
      });
    }
  }
}
