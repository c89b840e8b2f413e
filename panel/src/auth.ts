// Who is signed in. Until the accounts API serves sessions, the panel signs in with the operator's
// admin token (every project) or a project's secret key (that project): both are the API's own
// credentials, sent as a bearer token and kept only for this browser tab (sessionStorage).
import { createStore } from "./store";

export type Role = "owner" | "admin" | "editor" | "viewer";

export interface Credential {
  kind: "admin" | "key";
  token: string;
  projectId?: string;
}

const STORAGE_KEY = "feelback.credential";

function load(): Credential | null {
  try {
    const text = typeof sessionStorage === "undefined" ? null : sessionStorage.getItem(STORAGE_KEY);
    return text ? (JSON.parse(text) as Credential) : null;
  } catch {
    return null;
  }
}

export const credential = createStore<Credential | null>(load());
export const signOutReason = createStore<string | null>(null);

export function signIn(next: Credential): void {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
  signOutReason.set(null);
  credential.set(next);
}

export function signOutLocally(reason: string | null = null): void {
  sessionStorage.removeItem(STORAGE_KEY);
  signOutReason.set(reason);
  credential.set(null);
}

/** What a role may do; the API refuses anything else anyway. */
export const can = {
  manageProjects: (role: Role) => role === "owner" || role === "admin",
  manageKeys: (role: Role) => role === "owner" || role === "admin",
  editContent: (role: Role) => role !== "viewer",
  triage: (role: Role) => role !== "viewer",
  export: (role: Role) => role !== "viewer",
  managePrivacy: (role: Role) => role === "owner" || role === "admin",
};

export function roleOf(current: Credential | null): Role {
  if (!current) return "viewer";
  return current.kind === "admin" ? "owner" : "admin";
}

/** A token's kind by its look, so the sign-in form can say what it got. */
export function tokenKind(token: string): "secret" | "public" | "other" {
  if (token.startsWith("fb_sk_")) return "secret";
  if (token.startsWith("fb_pk_")) return "public";
  return "other";
}
