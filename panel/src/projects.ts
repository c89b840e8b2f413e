// The projects the signed-in person can open: an organization's (people), every one (the operator),
// or the one of a secret key.
import { api } from "./api/client";
import { must } from "./api/errors";
import type { components } from "./api/schema";
import type { Credential } from "./auth";
import { createStore } from "./store";

export type Project = components["schemas"]["ProjectOut"];

export async function loadProjects(bearer: Credential | null, orgId: string | null): Promise<Project[]> {
  if (bearer?.kind === "admin") return must(api.GET("/v1/projects"));
  if (bearer?.kind === "key") return [(await must(api.GET("/v1/key"))).project];
  if (!orgId) return [];
  return must(api.GET("/v1/organizations/{org_id}/projects", { params: { path: { org_id: orgId } } }));
}

/** Bumped when a project is created, renamed or deleted, so lists read again. */
export const projectsVersion = createStore(0);

export function projectsChanged(): void {
  projectsVersion.set(projectsVersion.value + 1);
}
