import { useCallback, useEffect, useState } from 'preact/hooks';

import { useToken } from './api.js';
import { Layout, PAGES } from './layout.js';
import { LoginPage } from './pages/login.js';
import { BackupDetailsPage } from './pages/backup-details.js';
import { NotFoundPage } from './pages/not-found.js';
import { navigate, useRoute } from './router.js';
import { clearSession, loadSession, saveSession, type Session } from './session.js';
import { SessionContext } from './session-context.js';

/** The app: the login page until signed in, then the layout and the page of the current route. */
export function App() {
  const [session, setSession] = useState<Session | undefined>(() => loadSession());
  const [message, setMessage] = useState<string>();
  const route = useRoute();

  const endSession = useCallback((why?: string) => {
    clearSession();
    setSession(undefined);
    setMessage(why);
  }, []);
  useToken(session?.token, () => endSession('Your session has expired. Please sign in again.'));

  // Sign out when the token expires, rather than on the next failed request.
  useEffect(() => {
    if (!session) return;
    const left = Date.parse(session.expiresAt) - Date.now();
    const timer = setTimeout(() => endSession('Your session has expired. Please sign in again.'), Math.max(0, Math.min(left, 2 ** 31 - 1)));
    return () => clearTimeout(timer);
  }, [session, endSession]);

  if (!session) {
    return (
      <LoginPage
        message={message}
        onLogin={(next) => {
          saveSession(next);
          setMessage(undefined);
          setSession(next);
          if (route === 'login') navigate('');
        }}
      />
    );
  }
  const [first = '', ...rest] = route.split('/');
  const page = PAGES.find((candidate) => candidate.route === first);
  let content;
  if (first === 'history' && rest.length > 0) content = <BackupDetailsPage backupId={rest.join('/')} />;
  else if (page?.allowed(session)) content = <page.component />;
  else content = <NotFoundPage />;
  return (
    <SessionContext.Provider value={session}>
      <Layout route={first} onLogout={() => endSession('You have signed out.')}>
        {content}
      </Layout>
    </SessionContext.Provider>
  );
}
