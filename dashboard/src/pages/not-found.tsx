import { href, onLinkClick } from '../router.js';
import { PageTitle } from '../components/ui.js';

export function NotFoundPage() {
  return (
    <>
      <PageTitle>Page not found</PageTitle>
      <p>
        This page does not exist or your role may not open it. <a href={href('')} onClick={onLinkClick}>Back to the overview</a>.
      </p>
    </>
  );
}
