import { apiGatewayHandler, type ApiGatewayProxyEvent, type ApiGatewayProxyResult } from '../src/api/lambda-adapter.js';
import { awsApiHandler } from '../src/runtime/aws-api.js';

/**
 * The REST API behind API Gateway (Cognito authorizer → this function). The application is built once
 * per cold start (the audit key is decrypted then); a failed build is retried on the next invocation.
 */
let app: Promise<(event: ApiGatewayProxyEvent) => Promise<ApiGatewayProxyResult>> | undefined;

export async function handler(event: ApiGatewayProxyEvent): Promise<ApiGatewayProxyResult> {
  app ??= awsApiHandler(process.env).then((handle) => apiGatewayHandler(handle, process.env.CHRONO_DASHBOARD_ORIGIN ? { allowedOrigin: process.env.CHRONO_DASHBOARD_ORIGIN } : {}));
  try {
    return await (await app)(event);
  } catch (error) {
    app = undefined;
    throw error;
  }
}
