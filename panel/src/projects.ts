// The projects the signed-in person can open, loaded once and shared by the header and the screens.
import { api } from "./api/client";
import { must } from "./api/errors";
import type { components } from "./api/schema";
import type { Credential } from "./auth";

export type Project = components["schemas"]["ProjectOut"];

export async function loadProjects(current: Credential): Promise<Project[]> {
  if (current.kind === "admin") return must(api.GET("/v1/projects"));
  const owner = await must(api.GET("/v1/key"));
  return [owner.project];
}
