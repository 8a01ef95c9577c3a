import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

import { allowed, type Permission, type Session } from './session.js';

export const SessionContext = createContext<Session | undefined>(undefined);

/** Whether the signed-in user's role may do something (controls are hidden otherwise). */
export function useCan(): (permission: Permission) => boolean {
  const session = useContext(SessionContext);
  return (permission) => allowed(session, permission);
}

export function useSession(): Session | undefined {
  return useContext(SessionContext);
}
