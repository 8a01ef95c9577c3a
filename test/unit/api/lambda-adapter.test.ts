/**
 * The API behind API Gateway: events become requests with the authorizer's claims (never a client's),
 * Cognito groups become roles, binary bodies go back base64, and login goes through Cognito's
 * InitiateAuth (mocked with aws-sdk-client-mock: Cognito cannot run here).
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { CognitoIdentityProviderClient, InitiateAuthCommand, RespondToAuthChallengeCommand } from '@aws-sdk/client-cognito-identity-provider';
import { mockClient } from 'aws-sdk-client-mock';

import { createApiApp } from '../../../src/api/api-app.js';
import type { AuditEvent } from '../../../src/api/audit-sink.js';
import { apiGatewayHandler, type ApiGatewayProxyEvent } from '../../../src/api/lambda-adapter.js';
import { json, needs, route } from '../../../src/api/route.js';
import { authRoutes } from '../../../src/api/routes/auth-routes.js';
import type { ApiServices } from '../../../src/api/api-services.js';
import { CognitoAuthenticator } from '../../../src/auth/cognito-authenticator.js';
import { CognitoLoginService } from '../../../src/auth/cognito-login.js';

const cognito = mockClient(CognitoIdentityProviderClient);
afterEach(() => {
  cognito.reset();
});

function idToken(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', kid: 'k' })}.${part(claims)}.signature`;
}

function app(events: AuditEvent[], options: { allowedOrigin?: string } = {}) {
  const services = { login: new CognitoLoginService(new CognitoIdentityProviderClient({ region: 'eu-west-1' }), 'client-id', () => new Date('2026-01-01T00:00:00Z')) } as unknown as ApiServices;
  const pdf = route({
    method: 'GET',
    path: '/api/v1/report',
    summary: 'a binary body',
    tag: 'test',
    access: needs('audit.read'),
    responses: { 200: 'pdf' },
    handle: async () => ({ status: 200, headers: { 'content-type': 'application/pdf' }, body: Buffer.from([0x25, 0x50, 0x44, 0x46, 0xff]) }),
  });
  const echo = route({ method: 'GET', path: '/api/v1/echo', summary: 'query echo', tag: 'test', access: needs('backups.read'), responses: { 200: 'echo' }, handle: async ({ request }) => json(200, { limit: request.query.getAll('limit') }) });
  return apiGatewayHandler(createApiApp({ routes: [...authRoutes(services), pdf, echo], authenticator: new CognitoAuthenticator(), audit: { record: async (event) => void events.push(event) } }), options);
}

const event = (overrides: Partial<ApiGatewayProxyEvent>): ApiGatewayProxyEvent => ({ httpMethod: 'GET', path: '/api/v1/auth/me', headers: {}, requestContext: { identity: { sourceIp: '203.0.113.7' } }, ...overrides });
const claims = (groups: unknown) => ({ requestContext: { identity: { sourceIp: '203.0.113.7' }, authorizer: { claims: { sub: 'abc-123', email: 'ops@example.com', 'cognito:groups': groups } } } });

describe('API Gateway adapter', () => {
  it('takes the principal from the authorizer claims, the role from the Cognito groups', async () => {
    const handler = app([]);
    const me = await handler(event(claims(['viewer', 'operator'])));
    expect(me.statusCode).toBe(200);
    expect(JSON.parse(me.body)).toEqual({ id: 'abc-123', email: 'ops@example.com', role: 'operator' });
    // API Gateway may flatten the groups into a string.
    expect(JSON.parse((await handler(event(claims('[auditor]')))).body).role).toBe('auditor');
    // A client-sent header is not a claim: without the authorizer's part there is no principal.
    const forged = await handler(event({ headers: { authorization: 'Bearer x', 'x-claims': '{"cognito:groups":"admin"}' } }));
    expect(forged.statusCode).toBe(401);
    expect((await handler(event(claims(['staff'])))).statusCode).toBe(401);
  });

  it('allows the dashboard origin on every response, errors included', async () => {
    const handler = app([], { allowedOrigin: 'https://d111.cloudfront.net' });
    for (const response of [await handler(event(claims(['viewer']))), await handler(event({}))]) {
      expect(response.headers).toMatchObject({ 'access-control-allow-origin': 'https://d111.cloudfront.net', vary: 'Origin' });
    }
  });

  it('enforces roles and returns binary bodies base64-encoded', async () => {
    const handler = app([]);
    expect((await handler(event({ path: '/api/v1/report', ...claims(['viewer']) }))).statusCode).toBe(403);
    const pdf = await handler(event({ path: '/api/v1/report', ...claims(['auditor']) }));
    expect(pdf).toMatchObject({ statusCode: 200, isBase64Encoded: true });
    expect(Buffer.from(pdf.body, 'base64')).toEqual(Buffer.from([0x25, 0x50, 0x44, 0x46, 0xff]));
    const repeated = await handler(event({ path: '/api/v1/echo', multiValueQueryStringParameters: { limit: ['5'] }, ...claims(['viewer']) }));
    expect(repeated.headers['access-control-allow-origin']).toBeUndefined();
    expect(JSON.parse(repeated.body)).toEqual({ limit: ['5'] });
  });

  it('logs in through Cognito InitiateAuth and refuses a wrong password with the same error as an unknown user', async () => {
    const events: AuditEvent[] = [];
    const handler = app(events);
    cognito.on(InitiateAuthCommand, { AuthParameters: { USERNAME: 'ops@example.com', PASSWORD: 'right password' } }).resolves({ AuthenticationResult: { IdToken: idToken({ sub: 'abc-123', email: 'ops@example.com', 'cognito:groups': ['operator'] }), ExpiresIn: 3600 } });
    cognito.on(InitiateAuthCommand, { AuthParameters: { USERNAME: 'ops@example.com', PASSWORD: 'wrong' } }).rejects(Object.assign(new Error('Incorrect username or password.'), { name: 'NotAuthorizedException' }));
    cognito.on(InitiateAuthCommand, { AuthParameters: { USERNAME: 'nobody@example.com', PASSWORD: 'wrong' } }).rejects(Object.assign(new Error('User does not exist.'), { name: 'UserNotFoundException' }));
    const post = (email: string, password: string) => handler(event({ httpMethod: 'POST', path: '/api/v1/auth/login', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }) }));
    const ok = await post('ops@example.com', 'right password');
    expect(ok.statusCode).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ token_type: 'bearer', expires_at: '2026-01-01T01:00:00.000Z', user: { email: 'ops@example.com', role: 'operator' } });
    const wrong = await post('ops@example.com', 'wrong');
    const unknown = await post('nobody@example.com', 'wrong');
    expect([wrong.statusCode, unknown.statusCode]).toEqual([401, 401]);
    expect(JSON.parse(wrong.body)).toEqual(JSON.parse(unknown.body));
    expect(cognito.commandCalls(InitiateAuthCommand)[0]!.args[0].input).toMatchObject({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: 'client-id' });
    expect(events.map((entry) => [entry.action, entry.result, entry.sourceAddress])).toEqual([
      ['auth.login', 'success', '203.0.113.7'],
      ['auth.login', 'denied', '203.0.113.7'],
      ['auth.login', 'denied', '203.0.113.7'],
    ]);
    expect(JSON.stringify(events)).not.toContain('right password');
  });

  it('asks an account with a second factor for its code, and answers Cognito\'s challenge with it', async () => {
    const handler = app([]);
    cognito.on(InitiateAuthCommand).resolves({ ChallengeName: 'SOFTWARE_TOKEN_MFA', Session: 'session-1' });
    cognito.on(RespondToAuthChallengeCommand, { ChallengeResponses: { USERNAME: 'ops@example.com', SOFTWARE_TOKEN_MFA_CODE: '123456' } }).resolves({ AuthenticationResult: { IdToken: idToken({ sub: 'abc-123', email: 'ops@example.com', 'cognito:groups': ['viewer'] }), ExpiresIn: 600 } });
    cognito.on(RespondToAuthChallengeCommand, { ChallengeResponses: { USERNAME: 'ops@example.com', SOFTWARE_TOKEN_MFA_CODE: '000000' } }).rejects(Object.assign(new Error('Invalid code'), { name: 'CodeMismatchException' }));
    const post = (body: unknown) => handler(event({ httpMethod: 'POST', path: '/api/v1/auth/login', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }));
    const first = await post({ email: 'ops@example.com', password: 'right password' });
    expect([first.statusCode, JSON.parse(first.body).error.code]).toEqual([401, 'auth.mfa_required']);
    const ok = await post({ email: 'ops@example.com', password: 'right password', mfa_code: '123456' });
    expect(JSON.parse(ok.body)).toMatchObject({ user: { role: 'viewer' }, expires_at: '2026-01-01T00:10:00.000Z' });
    expect(cognito.commandCalls(RespondToAuthChallengeCommand)[0]!.args[0].input).toMatchObject({ ChallengeName: 'SOFTWARE_TOKEN_MFA', Session: 'session-1', ClientId: 'client-id' });
    const wrong = await post({ email: 'ops@example.com', password: 'right password', mfa_code: '000000' });
    expect([wrong.statusCode, JSON.parse(wrong.body).error.code]).toEqual([401, 'auth.invalid_credentials']);
    const malformed = await post({ email: 'ops@example.com', password: 'right password', mfa_code: '12ab' });
    expect(JSON.parse(malformed.body).error.fields).toEqual([{ field: 'body.mfa_code', message: 'must be the 6-digit code of the authenticator app' }]);
  });
});
