import type { ComponentChildren, FunctionComponent } from 'preact';
import { useErrorBoundary } from 'preact/hooks';

import { ErrorBanner } from './components/ui.js';

import { AuditPage } from './pages/audit.js';
import { HealthPage } from './pages/health.js';
import { HistoryPage } from './pages/history.js';
import { ManualBackupPage } from './pages/manual-backup.js';
import { OverviewPage } from './pages/overview.js';
import { RecoveryPage } from './pages/recovery.js';
import { SchedulesPage } from './pages/schedules.js';
import { StoragePage } from './pages/storage.js';
import { UsersPage } from './pages/users.js';
import { href, onLinkClick } from './router.js';
import { allowed, type Permission, type Session } from './session.js';
import { useSession } from './session-context.js';

export interface Page {
  route: string;
  title: string;
  /** Shown in the navigation, and reachable, only for roles with this permission. */
  permission?: Permission;
  component: FunctionComponent;
  allowed(session: Session): boolean;
}

function page(route: string, title: string, component: FunctionComponent, permission?: Permission): Page {
  return { route, title, component, ...(permission ? { permission } : {}), allowed: (session) => !permission || allowed(session, permission) };
}

export const PAGES: Page[] = [
  page('', 'Overview', OverviewPage, 'statistics.read'),
  page('history', 'Backup history', HistoryPage, 'backups.read'),
  page('backup', 'Manual backup', ManualBackupPage, 'backups.run'),
  page('recovery', 'Recovery', RecoveryPage, 'recovery.read'),
  page('storage', 'Storage backends', StoragePage, 'backends.read'),
  page('schedules', 'Schedules & retention', SchedulesPage, 'schedules.read'),
  page('health', 'Health', HealthPage, 'health.read'),
  page('audit', 'Audit trail', AuditPage, 'audit.read'),
  page('users', 'Users', UsersPage, 'users.manage'),
];

export function Layout({ route, onLogout, children }: { route: string; onLogout: () => void; children: ComponentChildren }) {
  const session = useSession();
  return (
    <div class="shell">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <span class="brand">Chrono Backup</span>
        <span class="who">
          {session?.email} <span class="role">({session?.role})</span>
        </span>
        <button type="button" class="secondary" onClick={onLogout}>
          Sign out
        </button>
      </header>
      <nav class="sidenav" aria-label="Sections">
        <ul>
          {PAGES.filter((candidate) => session && candidate.allowed(session)).map((candidate) => (
            <li>
              <a href={href(candidate.route)} onClick={onLinkClick} aria-current={candidate.route === route ? 'page' : undefined}>
                {candidate.title}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" class="content">
        <PageBoundary key={route}>{children}</PageBoundary>
      </main>
    </div>
  );
}

/** A page that fails to render shows why instead of leaving a blank screen; other pages still work. */
function PageBoundary({ children }: { children: ComponentChildren }) {
  const [error] = useErrorBoundary();
  if (error) return <ErrorBanner message={`This page could not be shown: ${error instanceof Error ? error.message : String(error)}`} />;
  return <>{children}</>;
}
