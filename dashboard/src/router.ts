import { useEffect, useState } from 'preact/hooks';

/** Where the app is served from (`/admin/backup/`); every route is a path below it. */
export const BASE = import.meta.env.BASE_URL;

/** The route below BASE, without leading or trailing slashes (`history/full_2024…`). */
export function currentRoute(): string {
  const path = window.location.pathname;
  const below = path.startsWith(BASE) ? path.slice(BASE.length) : '';
  return decodeURIComponent(below.replace(/^\/+|\/+$/g, ''));
}

export function href(route: string): string {
  return `${BASE}${route}`;
}

const listeners = new Set<() => void>();

export function navigate(route: string): void {
  window.history.pushState(null, '', href(route));
  listeners.forEach((listener) => listener());
}

/** The current route, re-rendering on navigation and on the back button. */
export function useRoute(): string {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return route;
}

/** Click handler for in-app links: navigate without a reload, leave modified clicks to the browser. */
export function onLinkClick(event: MouseEvent): void {
  const anchor = (event.currentTarget as HTMLAnchorElement | null) ?? undefined;
  if (!anchor || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(anchor.href);
  if (url.origin !== window.location.origin || !url.pathname.startsWith(BASE)) return;
  event.preventDefault();
  navigate(decodeURIComponent(url.pathname.slice(BASE.length)));
}
