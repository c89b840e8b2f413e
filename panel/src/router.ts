// Paths under /app/ for each screen, and the history-API navigation between them.
import { createStore } from "./store";

export const BASE = "/app";

export interface Route {
  name: string;
  params: Record<string, string>;
}

const PATTERNS: [string, string][] = [
  ["signin", "/signin"],
  ["signup", "/signup"],
  ["verify", "/verify-email"],
  ["magic", "/sign-in/link"],
  ["reset", "/reset-password"],
  ["invitation", "/invitations/accept"],
  ["confirmEmail", "/confirm-email"],
  ["members", "/org/:org/members"],
  ["projects", "/"],
  ["projects", "/projects"],
  ["overview", "/p/:project"],
  ["overview", "/p/:project/overview"],
  ["inbox", "/p/:project/inbox"],
  ["sets", "/p/:project/sets"],
  ["set", "/p/:project/sets/:set"],
  ["content", "/p/:project/content/:set/:key"],
  ["install", "/p/:project/install"],
  ["settings", "/p/:project/settings"],
  ["keys", "/p/:project/keys"],
  ["exports", "/p/:project/exports"],
  ["recaps", "/p/:project/recaps"],
  ["privacy", "/p/:project/privacy"],
];

export function match(pathname: string): Route {
  let path = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  if (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);
  if (path === "") path = "/";
  const parts = path.split("/");
  for (const [name, pattern] of PATTERNS) {
    const wanted = pattern.split("/");
    if (wanted.length !== parts.length) continue;
    const params: Record<string, string> = {};
    const fits = wanted.every((piece, index) => {
      if (piece.startsWith(":")) {
        if (!parts[index]) return false;
        params[piece.slice(1)] = decodeURIComponent(parts[index]);
        return true;
      }
      return piece === parts[index];
    });
    if (fits) return { name, params };
  }
  return { name: "notfound", params: {} };
}

/** Screens anyone may open, signed in or not (mail links land on them). */
export const PUBLIC_SCREENS = new Set(["signin", "signup", "verify", "magic", "reset", "invitation", "confirmEmail"]);

export function queryParam(name: string): string | null {
  return typeof location === "undefined" ? null : new URLSearchParams(location.search).get(name);
}

export function href(path: string): string {
  return `${BASE}${path.startsWith("/") ? path : `/${path}`}`;
}

export function projectHref(projectId: string, screen = "overview"): string {
  return href(`/p/${encodeURIComponent(projectId)}/${screen}`);
}

/** The page of one content's history (its key may hold slashes: it is one encoded segment). */
export function contentHref(projectId: string, setKey: string, contentKey: string): string {
  return projectHref(projectId, `content/${encodeURIComponent(setKey)}/${encodeURIComponent(contentKey)}`);
}

export const location$ = createStore(typeof location === "undefined" ? "/app/" : location.pathname + location.search);

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  location$.set(location.pathname + location.search);
  window.scrollTo(0, 0);
}

/** Replaces the query of the current address (a screen's filters): no new history entry, no scroll. */
export function replaceQuery(search: string): void {
  history.replaceState(null, "", location.pathname + search);
  location$.set(location.pathname + location.search);
}

export function installLinkHandling(): void {
  window.addEventListener("popstate", () => location$.set(location.pathname + location.search));
  document.addEventListener("click", (event) => {
    const anchor = (event.target as Element | null)?.closest?.("a");
    if (!anchor || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    const target = anchor.getAttribute("href");
    if (!target || !target.startsWith(`${BASE}/`) || anchor.target || anchor.hasAttribute("download")) return;
    event.preventDefault();
    navigate(target);
  });
}
