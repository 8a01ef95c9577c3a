import { randomBytes } from 'node:crypto';

import { createUser } from '../app/manage-users.js';
import type { Clock } from '../ports/clock.js';
import type { UserStore } from '../ports/user-store.js';

export const DEFAULT_ADMIN_EMAIL = 'admin@localhost.localdomain';

/**
 * On first run (no users at all) creates the admin: from CHRONO_BACKUP_ADMIN_EMAIL and
 * CHRONO_BACKUP_ADMIN_PASSWORD when set, otherwise with a generated password that is returned so the
 * server can print it once. It is never stored in plain text or logged.
 */
export async function ensureFirstAdmin(users: UserStore, clock: Clock, env: NodeJS.ProcessEnv): Promise<{ email: string; generatedPassword?: string } | undefined> {
  if ((await users.countUsers()) > 0) return undefined;
  const email = env.CHRONO_BACKUP_ADMIN_EMAIL?.trim() || DEFAULT_ADMIN_EMAIL;
  const given = env.CHRONO_BACKUP_ADMIN_PASSWORD;
  const password = given && given.length > 0 ? given : randomBytes(18).toString('base64url');
  const user = await createUser(users, clock, { email, role: 'admin', password });
  return { email: user.email, ...(given ? {} : { generatedPassword: password }) };
}
