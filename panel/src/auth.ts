// Who is signed in: a person with a session cookie (GET /v1/me), or, for operators and scripts,
// the admin token or a project's secret key sent as a bearer token and kept only for this browser
// tab (sessionStorage). Roles decide what the panel shows; the API refuses anything else anyway.
import type { components } from "./api/schema";
import { createStore } from "./store";

export type Me = components["schemas"]["MeOut"];
export type Role = components["schemas"]["Role"];
export type Organization = components["schemas"]["OrganizationOut"];

export interface Credential {
  kind: "admin" | "key";
  token: string;
  projectId?: string;
}

const STORAGE_KEY = "feelback.credential";
const ORG_KEY = "feelback.organization";

function load(): Credential | null {
  try {
    const text = typeof sessionStorage === "undefined" ? null : sessionStorage.getItem(STORAGE_KEY);
    return text ? (JSON.parse(text) as Credential) : null;
  } catch {
    return null;
  }
}

export const credential = createStore<Credential | null>(load());
/** The signed-in person: undefined until GET /v1/me answered, null when nobody is signed in. */
export const me = createStore<Me | null | undefined>(undefined);
export const signOutReason = createStore<string | null>(null);
export const currentOrgId = createStore<string | null>(typeof localStorage === "undefined" ? null : localStorage.getItem(ORG_KEY));

export function chooseOrganization(id: string): void {
  localStorage.setItem(ORG_KEY, id);
  currentOrgId.set(id);
}

export function signIn(next: Credential): void {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
  signOutReason.set(null);
  credential.set(next);
}

export function signedInAs(person: Me): void {
  signOutReason.set(null);
  me.set(person);
  const orgs = person.organizations;
  if (orgs.length && !orgs.some((org) => org.id === currentOrgId.value)) chooseOrganization(orgs[0].id);
}

export function signOutLocally(reason: string | null = null): void {
  sessionStorage.removeItem(STORAGE_KEY);
  signOutReason.set(reason);
  credential.set(null);
  me.set(null);
}

const RANK: Record<Role, number> = { viewer: 0, member: 1, admin: 2, owner: 3 };

export function atLeast(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}

/** What a role may do (the API's ROUTE_ROLES). */
export const can = {
  manageProjects: (role: Role) => atLeast(role, "admin"),
  manageKeys: (role: Role) => atLeast(role, "admin"),
  editContent: (role: Role) => atLeast(role, "member"),
  triage: (role: Role) => atLeast(role, "member"),
  export: (role: Role) => atLeast(role, "member"),
  subscribe: (role: Role) => atLeast(role, "member"),
  manageMembers: (role: Role) => atLeast(role, "admin"),
};

/** The caller's role on a project of ``organizationId``: keys and the operator have every right. */
export function roleOn(organizationId: string | null, bearer: Credential | null, person: Me | null | undefined): Role {
  if (bearer) return "owner";
  return person?.organizations.find((org) => org.id === organizationId)?.role ?? "viewer";
}

/** A token's kind by its look, so the sign-in form can say what it got. */
export function tokenKind(token: string): "secret" | "public" | "other" {
  if (token.startsWith("fb_sk_")) return "secret";
  if (token.startsWith("fb_pk_")) return "public";
  return "other";
}
