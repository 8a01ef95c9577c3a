import { z } from 'zod';

import type { ApiServices } from '../api-services.js';
import { AUTHENTICATED, json, PUBLIC, route, type Route } from '../route.js';

const loginBody = z.strictObject({
  email: z.string().min(3).max(254),
  password: z.string().min(1).max(1024),
  /** The one-time code of an account with a second factor (Cognito, in AWS). */
  mfa_code: z.string().regex(/^\d{6}$/, 'must be the 6-digit code of the authenticator app').optional(),
});

export function authRoutes(services: ApiServices): Route[] {
  return [
    route({
      method: 'POST',
      path: '/api/v1/auth/login',
      summary: 'Exchange an email and password for a bearer token',
      tag: 'auth',
      access: PUBLIC,
      body: loginBody,
      audit: 'auth.login',
      responses: { 200: 'a bearer token', 401: 'wrong email or password', 429: 'too many failed attempts' },
      async handle({ body, request, audit }) {
        audit.target = body.email.trim().toLowerCase();
        const session = await services.login.login(body.email, body.password, request.sourceAddress, body.mfa_code);
        return json(200, {
          access_token: session.token,
          token_type: 'bearer',
          expires_at: session.expiresAt,
          user: { id: session.user.userId, email: session.user.email, role: session.user.role },
        });
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/auth/me',
      summary: 'The signed-in user and role',
      tag: 'auth',
      access: AUTHENTICATED,
      responses: { 200: 'the caller' },
      async handle({ principal }) {
        return json(200, { id: principal?.userId, email: principal?.email, role: principal?.role });
      },
    }),
  ];
}
