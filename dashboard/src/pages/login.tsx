import { useState } from 'preact/hooks';

import { ApiError, call } from '../api.js';
import { ErrorBanner, Field, Notice, PageTitle } from '../components/ui.js';
import { useAction } from '../hooks.js';
import type { Session } from '../session.js';

interface LoginAnswer {
  access_token: string;
  expires_at: string;
  user: { email: string; role: Session['role'] };
}

export function LoginPage({ message, onLogin }: { message: string | undefined; onLogin: (session: Session) => void }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  // Accounts with a second factor (Cognito in AWS) are asked for their code once the password is right.
  const [needsCode, setNeedsCode] = useState(false);
  const [code, setCode] = useState('');
  const login = useAction(async () => {
    try {
      const answer = await call<LoginAnswer>('POST', '/api/v1/auth/login', { body: { email, password, ...(needsCode ? { mfa_code: code } : {}) } });
      onLogin({ token: answer.access_token, expiresAt: answer.expires_at, email: answer.user.email, role: answer.user.role });
    } catch (error) {
      if (error instanceof ApiError && error.code === 'auth.mfa_required' && !needsCode) {
        setNeedsCode(true);
        return;
      }
      throw error;
    }
  });
  return (
    <main id="main" class="login">
      <form
        class="card login-card"
        onSubmit={(event) => {
          event.preventDefault();
          void login.run();
        }}
      >
        <PageTitle>Sign in to Chrono Backup</PageTitle>
        {message && <Notice tone="warn">{message}</Notice>}
        <Field id="login-email" label="Email" type="email" autoComplete="username" required value={email} onInput={(event) => setEmail(event.currentTarget.value)} />
        <Field id="login-password" label="Password" type="password" autoComplete="current-password" required value={password} onInput={(event) => setPassword(event.currentTarget.value)} />
        {needsCode && (
          <Field id="login-code" label="Code from your authenticator app" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" required value={code} onInput={(event) => setCode(event.currentTarget.value)} />
        )}
        <ErrorBanner message={login.error} />
        <button type="submit" disabled={login.busy}>
          {login.busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
