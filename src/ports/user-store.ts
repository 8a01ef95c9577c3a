import type { User } from '../domain/user.js';

/**
 * UserStore: the people who may call the local API (in AWS, Cognito holds them instead).
 *
 * Contract:
 * - `createUser` stores a new user; an email already taken (compared case-insensitively) is a
 *   ConflictError `conflict.user_exists`.
 * - `getUser` / `findByEmail` return undefined for unknown ids or emails.
 * - `listUsers` returns every user ordered by email.
 * - `updateUser` replaces role, email or password hash of an existing user; unknown ids are a
 *   NotFoundError; taking another user's email is a ConflictError.
 * - `deleteUser` of an unknown id is a NotFoundError.
 * - `countUsers` is the number of users (the first-run admin is created when it is 0).
 * - Password hashes are stored as given (already hashed by src/auth/password-hash.ts), never plain.
 */
export interface UserStore {
  createUser(user: User): Promise<void>;
  getUser(id: string): Promise<User | undefined>;
  findByEmail(email: string): Promise<User | undefined>;
  listUsers(): Promise<User[]>;
  updateUser(id: string, change: Partial<Pick<User, 'email' | 'role' | 'passwordHash'>> & { updated: string }): Promise<User>;
  deleteUser(id: string): Promise<void>;
  countUsers(): Promise<number>;
}
