import { CognitoIdentityProviderClient, InitiateAuthCommand, RespondToAuthChallengeCommand, type InitiateAuthCommandOutput } from '@aws-sdk/client-cognito-identity-provider';

import type { LoginService, Principal } from '../api/api-types.js';
import { StorageError } from '../domain/errors.js';
import { TooManyAttemptsError } from './local-login.js';
import { AuthenticationError } from './token-issuer.js';
import { CognitoAuthenticator } from './cognito-authenticator.js';

/**
 * `POST /api/v1/auth/login` in AWS: Cognito's InitiateAuth (USER_PASSWORD_AUTH) returns the ID token the
 * API Gateway authorizer accepts. Wrong email and wrong password give the same error; Cognito's own
 * lockout answers as a 429.
 */
export class CognitoLoginService implements LoginService {
  constructor(private readonly client: CognitoIdentityProviderClient, private readonly clientId: string, private readonly now: () => Date = () => new Date()) {}

  async login(email: string, password: string, _sourceAddress?: string, mfaCode?: string): Promise<{ token: string; expiresAt: string; user: Principal }> {
    let result: Pick<InitiateAuthCommandOutput, 'AuthenticationResult' | 'ChallengeName' | 'Session'> = await this.call(() =>
      this.client.send(new InitiateAuthCommand({ AuthFlow: 'USER_PASSWORD_AUTH', ClientId: this.clientId, AuthParameters: { USERNAME: email, PASSWORD: password } })),
    );
    if (result.ChallengeName === 'SOFTWARE_TOKEN_MFA') {
      // The pool requires a second factor: the code comes with the same request (the dashboard asks for it).
      if (mfaCode === undefined) throw new AuthenticationError('mfa_required', 'this account needs the 6-digit code of its authenticator app: send it as mfa_code');
      result = await this.call(() =>
        this.client.send(new RespondToAuthChallengeCommand({ ClientId: this.clientId, ChallengeName: 'SOFTWARE_TOKEN_MFA', Session: result.Session, ChallengeResponses: { USERNAME: email, SOFTWARE_TOKEN_MFA_CODE: mfaCode } })),
      );
    }
    const token = result.AuthenticationResult?.IdToken;
    if (token === undefined) throw new AuthenticationError('challenge_required', `the account needs a sign-in step this API does not support (${result.ChallengeName ?? 'unknown challenge'}); finish it in the Cognito hosted UI first`);
    const user = await new CognitoAuthenticator().authenticate({ method: 'POST', path: '', query: new URLSearchParams(), headers: {}, sourceAddress: '', verifiedClaims: decodeClaims(token) });
    const expiresIn = result.AuthenticationResult?.ExpiresIn ?? 3600;
    return { token, expiresAt: new Date(this.now().getTime() + expiresIn * 1000).toISOString(), user };
  }

  /** Cognito's refusals as the API's: the same error for a wrong email, password or code. */
  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'NotAuthorizedException' || name === 'UserNotFoundException' || name === 'CodeMismatchException' || name === 'ExpiredCodeException') {
        throw new AuthenticationError('invalid_credentials', 'wrong email, password or code');
      }
      if (name === 'TooManyRequestsException' || name === 'LimitExceededException' || name === 'TooManyFailedAttemptsException') throw new TooManyAttemptsError(60);
      throw new StorageError('identity_unavailable', `the identity provider could not be reached (${name})`, { retryable: true });
    }
  }
}

/**
 * The claims of a token Cognito has just issued to us over TLS: read, not verified (the authorizer
 * verifies it on every later call); used only to tell the caller who they are and their role.
 */
function decodeClaims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}
