import type { Role } from "../auth";
import type { Project } from "../projects";
import { projectHref, type Route } from "../router";
import type { Resource } from "../ui/resource";
import { Loaded } from "../ui/states";
import { ContentSetPage, ContentSets } from "./ContentSets";
import { Keys } from "./Keys";
import { Overview } from "./Overview";
import { Settings } from "./Settings";

export const SCREENS = [
  { name: "overview", label: "Overview" },
  { name: "inbox", label: "Inbox" },
  { name: "sets", label: "Content sets" },
  { name: "install", label: "Install" },
  { name: "exports", label: "Exports" },
  { name: "recaps", label: "Recaps" },
  { name: "privacy", label: "Privacy" },
  { name: "keys", label: "Keys" },
  { name: "settings", label: "Settings" },
];

export function ProjectScreen({ route, projects, role }: { route: Route; projects: Resource<Project[]>; role: Role }) {
  const projectId = route.params.project;
  const active = route.name === "set" ? "sets" : route.name;
  return (
    <div class="project-layout">
      <nav class="project-nav" aria-label="Project">
        <ul>
          {SCREENS.map((screen) => (
            <li key={screen.name}>
              <a href={projectHref(projectId, screen.name)} aria-current={screen.name === active ? "page" : undefined}>
                {screen.label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" class="page">
        <Loaded resource={projects} what="the project">
          {(list) => {
            const project = list.find((candidate) => candidate.id === projectId);
            if (!project) {
              return (
                <p role="alert">
                  There is no project “{projectId}” that you can open. <a href="/app/projects">See your projects</a>.
                </p>
              );
            }
            return <Screen name={route.name} route={route} project={project} role={role} reloadProjects={projects.reload} />;
          }}
        </Loaded>
      </main>
    </div>
  );
}

function Screen({ name, route, project, role, reloadProjects }: { name: string; route: Route; project: Project; role: Role; reloadProjects: () => void }) {
  switch (name) {
    case "settings":
      return <Settings project={project} role={role} onSaved={reloadProjects} />;
    case "overview":
      return <Overview project={project} />;
    case "sets":
      return <ContentSets project={project} role={role} />;
    case "set":
      return <ContentSetPage project={project} role={role} setKey={route.params.set} />;
    case "keys":
      return <Keys project={project} role={role} />;
    default:
      return (
        <section>
          <h1>{SCREENS.find((screen) => screen.name === name)?.label ?? "Screen"}</h1>
          <p>This screen is coming soon.</p>
        </section>
      );
  }
}
