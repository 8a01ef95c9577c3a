import type { Role } from '../../src/domain/user.js';
import { can, type Permission } from '../../src/api/roles.js';

/** The signed-in user as the login answer described them. */
export interface Session {
  token: string;
  /** ISO time after which the API refuses the token. */
  expiresAt: string;
  email: string;
  role: Role;
}

const KEY = 'chrono-backup.session';

/** The session of this tab: sessionStorage, so closing the tab signs out and other tabs do not share it. */
export function loadSession(now = Date.now()): Session | undefined {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return undefined;
    const session = JSON.parse(raw) as Session;
    if (typeof session.token !== 'string' || Date.parse(session.expiresAt) <= now) {
      sessionStorage.removeItem(KEY);
      return undefined;
    }
    return session;
  } catch {
    return undefined;
  }
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}

/** Whether the session's role may do something; the same table the API enforces. */
export function allowed(session: Session | undefined, permission: Permission): boolean {
  return session !== undefined && can(session.role, permission);
}

export type { Permission, Role };
