import { hashPassword } from '../auth/password-hash.js';
import { ConflictError, NotFoundError } from '../domain/errors.js';
import { randomId } from '../domain/ids.js';
import { checkPasswordStrength, normalizeEmail, publicUser, type PublicUser, type Role } from '../domain/user.js';
import type { Clock } from '../ports/clock.js';
import type { UserStore } from '../ports/user-store.js';

export interface NewUserInput {
  email: string;
  role: Role;
  password: string;
}

/** Creates a user with a hashed password. @throws ValidationError (weak password, bad email), ConflictError (email taken). */
export async function createUser(users: UserStore, clock: Clock, input: NewUserInput): Promise<PublicUser> {
  const email = normalizeEmail(input.email);
  checkPasswordStrength(input.password);
  const now = clock.now().toISOString();
  const user = { id: `user-${randomId(8)}`, email, role: input.role, passwordHash: await hashPassword(input.password), created: now, updated: now };
  await users.createUser(user);
  return publicUser(user);
}

/**
 * Changes a user's email, role or password. The last admin can be neither demoted nor (see
 * {@link deleteUser}) deleted: that would lock everyone out of user management.
 */
export async function updateUser(users: UserStore, clock: Clock, id: string, change: { email?: string; role?: Role; password?: string }): Promise<PublicUser> {
  const current = await users.getUser(id);
  if (current === undefined) throw new NotFoundError('user', id);
  if (change.role !== undefined && change.role !== 'admin' && current.role === 'admin') await refuseLastAdmin(users, 'demote');
  if (change.password !== undefined) checkPasswordStrength(change.password);
  const updated = await users.updateUser(id, {
    updated: clock.now().toISOString(),
    ...(change.email !== undefined ? { email: normalizeEmail(change.email) } : {}),
    ...(change.role !== undefined ? { role: change.role } : {}),
    ...(change.password !== undefined ? { passwordHash: await hashPassword(change.password) } : {}),
  });
  return publicUser(updated);
}

export async function deleteUser(users: UserStore, id: string): Promise<void> {
  const current = await users.getUser(id);
  if (current === undefined) throw new NotFoundError('user', id);
  if (current.role === 'admin') await refuseLastAdmin(users, 'delete');
  await users.deleteUser(id);
}

export async function listUsers(users: UserStore): Promise<PublicUser[]> {
  return (await users.listUsers()).map(publicUser);
}

async function refuseLastAdmin(users: UserStore, verb: string): Promise<void> {
  const admins = (await users.listUsers()).filter((user) => user.role === 'admin');
  if (admins.length <= 1) throw new ConflictError('last_admin', `cannot ${verb} the last admin: make another user admin first`);
}
