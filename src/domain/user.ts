import { ValidationError } from './errors.js';

/**
 * Roles of the API, from most to least powerful:
 * - admin: everything;
 * - operator: runs and verifies backups and restores into new targets; no overwrite restores, no
 *   storage backends, schedules, retention policies or users;
 * - viewer: reads backups, recoveries, schedules, backends, health and statistics; no audit trail;
 * - auditor: reads and exports the audit trail, and reads the backup evidence it refers to.
 */
export const ROLES = ['admin', 'operator', 'viewer', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

/** A person who may call the API. The password hash never leaves the user store and the auth module. */
export interface User {
  id: string;
  email: string;
  role: Role;
  passwordHash: string;
  created: string;
  updated: string;
}

/** A user as the API shows it: everything but the password hash. */
export type PublicUser = Omit<User, 'passwordHash'>;

export function publicUser(user: User): PublicUser {
  const { passwordHash: _hidden, ...visible } = user;
  return visible;
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Lower-cased and trimmed; one `@` with something on both sides and a dot in the domain. */
export function normalizeEmail(value: string, field = 'email'): string {
  const email = value.trim().toLowerCase();
  if (email.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
    throw new ValidationError(`${field} must be an email address (got ${JSON.stringify(value.slice(0, 60))})`, field);
  }
  return email;
}

/** The minimum a password must meet; long passphrases are welcome. */
export const MIN_PASSWORD_LENGTH = 12;

export function checkPasswordStrength(password: string, field = 'password'): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new ValidationError(`${field} must be at least ${MIN_PASSWORD_LENGTH} characters`, field);
  }
  if (password.length > 1024) throw new ValidationError(`${field} must be at most 1024 characters`, field);
}
