import { ValidationError } from '../domain/errors.js';

/**
 * What Step Functions' AWS SDK integration (`arn:aws:states:::aws-sdk:<service>:<action>`) does, for the
 * local runner: call the service with the Task's input as the request and hand back the response. The
 * restore state machine uses it for RDS; the calls go through the AWS SDK for JavaScript client given
 * (a real one in use, one mocked with aws-sdk-client-mock in tests).
 *
 * Step Functions names fields as the AWS SDK for Java v2 does, and this translates for the fields the
 * definitions use: `Db` before a capital is the API's `DB` (`DbInstanceIdentifier` ⇄
 * `DBInstanceIdentifier`), and an error is `<Service>.<Name>Exception` (the JavaScript SDK's
 * `DBInstanceNotFoundFault` is `Rds.DbInstanceNotFoundException` in a Catch).
 */
const AWS_SDK_TASK = /^arn:aws:states:::aws-sdk:([a-z0-9]+):([a-zA-Z0-9]+)$/;

/** Request fields that are timestamps: Step Functions takes them as ISO 8601 strings, the JavaScript SDK as Dates. */
const TIMESTAMP_FIELDS = new Set(['RestoreTime', 'RestoreToTime']);

/** A client of the AWS SDK for JavaScript v3: what `send` needs is all that is used. */
export interface SdkClient {
  send(command: object): Promise<unknown>;
}

/** The service clients of the local runner's SDK tasks, by the service name in the resource ARN. */
export interface AwsSdkClients {
  rds?: SdkClient;
}

interface ServiceModule {
  client: () => Promise<SdkClient>;
  command: (action: string) => Promise<(new (input: unknown) => object) | undefined>;
}

const SERVICES: Readonly<Record<string, (clients: AwsSdkClients) => ServiceModule>> = {
  rds: (clients) => ({
    // A real client from the environment's credentials, loaded only when an RDS task runs without one given.
    client: async () => clients.rds ?? new (await import('@aws-sdk/client-rds')).RDSClient({}),
    command: async (action) => (await import('@aws-sdk/client-rds') as unknown as Record<string, new (input: unknown) => object>)[`${upperFirst(action)}Command`],
  }),
};

/**
 * Settings of a real client from an environment (the local server's, not necessarily this process's):
 * its region, its static credentials when it has them (else the SDK's own chain), and
 * `CHRONO_BACKUP_RDS_ENDPOINT` for an endpoint of one's own (a VPC endpoint, a test server).
 */
export function rdsClientConfig(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const credentials = env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
    ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) }
    : undefined;
  return { ...(region ? { region } : {}), ...(credentials ? { credentials } : {}), ...(env.CHRONO_BACKUP_RDS_ENDPOINT ? { endpoint: env.CHRONO_BACKUP_RDS_ENDPOINT } : {}) };
}

export function isAwsSdkTask(resource: string): boolean {
  return AWS_SDK_TASK.test(resource);
}

/** The handler of an SDK Task: request in (Step Functions' names), response out (Step Functions' names). */
export function bindAwsSdkTask(resource: string, clients: AwsSdkClients): (input: unknown) => Promise<unknown> {
  const [, service, action] = AWS_SDK_TASK.exec(resource) ?? [];
  const module = service === undefined ? undefined : SERVICES[service]?.(clients);
  if (!module || !action) throw new ValidationError(`no local binding for the AWS SDK Task ${resource}`, 'Resource');
  return async (input) => {
    const Command = await module.command(action);
    if (!Command) throw new ValidationError(`the ${service} client has no action ${action}`, 'Resource');
    const client = await module.client();
    let output: unknown;
    try {
      output = await client.send(new Command(toSdkRequest(input)));
    } catch (error) {
      throw stepFunctionsError(service!, error);
    }
    // The response crosses a JSON boundary in Step Functions: dates become ISO strings, metadata is dropped.
    const { $metadata: _metadata, ...response } = (output ?? {}) as Record<string, unknown>;
    return fromSdkResponse(JSON.parse(JSON.stringify(response)) as unknown);
  };
}

/** Step Functions' request names → the JavaScript SDK's. */
export function toSdkRequest(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toSdkRequest);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => {
      const name = key.replace(/Db(?=[A-Z])/g, 'DB');
      return [name, TIMESTAMP_FIELDS.has(name) && typeof item === 'string' ? new Date(item) : toSdkRequest(item)];
    }),
  );
}

/** The JavaScript SDK's response names → Step Functions' (`DBInstances[0].DBInstanceStatus` → `DbInstances[0].DbInstanceStatus`). */
export function fromSdkResponse(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromSdkResponse);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key.replace(/DB(?=[A-Z][a-z])/g, 'Db'), fromSdkResponse(item)]));
}

/** The error a Catch sees: `Rds.DbInstanceNotFoundException` for the SDK's `DBInstanceNotFoundFault`. */
export function stepFunctionsError(service: string, error: unknown): Error {
  const sdkName = error instanceof Error ? error.name : 'UnknownError';
  const base = sdkName.replace(/(Fault|Exception)$/, '').replace(/DB(?=[A-Z][a-z])/g, 'Db');
  const message = error instanceof Error ? error.message : String(error);
  return Object.assign(new Error(message), { name: `${upperFirst(service)}.${base}Exception` });
}

function upperFirst(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
