import { z } from 'zod';

import { createUser, deleteUser, listUsers, updateUser } from '../../app/manage-users.js';
import { ROLES } from '../../domain/user.js';
import type { ApiServices } from '../api-services.js';
import { json, needs, route, type Route } from '../route.js';

const userParams = z.strictObject({ id: z.string().regex(/^user-[0-9a-f]{16}$/, 'must be a user id') });
const newUserBody = z.strictObject({ email: z.string().min(3).max(254), role: z.enum(ROLES), password: z.string().min(1).max(1024) });
const userChangeBody = z
  .strictObject({ email: z.string().min(3).max(254).optional(), role: z.enum(ROLES).optional(), password: z.string().min(1).max(1024).optional() })
  .refine((body) => Object.keys(body).length > 0, { message: 'give at least one of email, role, password', path: ['email'] });

/** The local users' routes; only composed when the services have a user store (see apiRoutes). */
export function userRoutes(services: ApiServices): Route[] {
  const users = services.users;
  if (users === undefined) return [];
  return [
    route({
      method: 'GET',
      path: '/api/v1/users',
      summary: 'Users and their roles',
      tag: 'users',
      access: needs('users.manage'),
      responses: { 200: 'the users (never their password hashes)' },
      async handle() {
        return json(200, { items: (await listUsers(users)).map(userBody) });
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/users',
      summary: 'Create a user',
      tag: 'users',
      access: needs('users.manage'),
      body: newUserBody,
      audit: 'user.create',
      responses: { 201: 'the user', 400: 'invalid email, role or weak password', 409: 'the email is taken' },
      async handle({ body, audit }) {
        audit.target = body.email.trim().toLowerCase();
        const user = await createUser(users, services.clock, body);
        audit.details = { id: user.id, role: user.role };
        return json(201, userBody(user), { location: `/api/v1/users/${user.id}` });
      },
    }),
    route({
      method: 'PUT',
      path: '/api/v1/users/{id}',
      summary: "Change a user's email, role or password",
      tag: 'users',
      access: needs('users.manage'),
      params: userParams,
      body: userChangeBody,
      audit: 'user.update',
      responses: { 200: 'the user', 404: 'no such user', 409: 'the last admin cannot be demoted' },
      async handle({ params, body, audit }) {
        audit.target = params.id;
        // Which fields changed, never their values (a password must not reach the trail).
        audit.details = { changed: Object.keys(body), ...(body.role ? { role: body.role } : {}) };
        return json(200, userBody(await updateUser(users, services.clock, params.id, body)));
      },
    }),
    route({
      method: 'DELETE',
      path: '/api/v1/users/{id}',
      summary: 'Delete a user',
      tag: 'users',
      access: needs('users.manage'),
      params: userParams,
      audit: 'user.delete',
      responses: { 204: 'deleted', 404: 'no such user', 409: 'the last admin cannot be deleted' },
      async handle({ params, audit }) {
        audit.target = params.id;
        await deleteUser(users, params.id);
        return { status: 204 };
      },
    }),
  ];
}

function userBody(user: { id: string; email: string; role: string; created: string; updated: string }) {
  return { id: user.id, email: user.email, role: user.role, created_at: user.created, updated_at: user.updated };
}
