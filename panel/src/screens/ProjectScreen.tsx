import { api } from "../api/client";
import { must } from "../api/errors";
import { credential, me, roleOn, type Role } from "../auth";
import type { Project } from "../projects";
import { href, projectHref, type Route } from "../router";
import { useStore } from "../store";
import { useResource } from "../ui/resource";
import { ErrorBox, Loading } from "../ui/states";
import { ContentSetPage, ContentSets } from "./ContentSets";
import { Exports } from "./Exports";
import { Inbox } from "./Inbox";
import { Install } from "./Install";
import { Keys } from "./Keys";
import { Overview } from "./Overview";
import { Privacy } from "./Privacy";
import { Recaps } from "./Recaps";
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

export function ProjectScreen({ route }: { route: Route }) {
  const projectId = route.params.project;
  const active = route.name === "set" ? "sets" : route.name === "content" ? "overview" : route.name;
  const bearer = useStore(credential);
  const person = useStore(me);
  const project = useResource(() => must(api.GET("/v1/projects/{project_id}", { params: { path: { project_id: projectId } } })), [projectId]);
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
        {project.error ? (
          <>
            <ErrorBox message={project.error} retry={project.reload} />
            <p>
              <a href={href("/projects")}>See your projects</a>
            </p>
          </>
        ) : !project.data ? (
          <Loading what="the project" />
        ) : (
          <Screen
            name={route.name}
            route={route}
            project={project.data}
            role={roleOn(project.data.organization_id, bearer, person)}
            reloadProject={project.reload}
          />
        )}
      </main>
    </div>
  );
}

function Screen({ name, route, project, role, reloadProject }: { name: string; route: Route; project: Project; role: Role; reloadProject: () => void }) {
  switch (name) {
    case "overview":
      return <Overview project={project} />;
    case "inbox":
      return <Inbox project={project} role={role} />;
    case "content":
      return <Overview key={`${route.params.set}/${route.params.key}`} project={project} content={{ set: route.params.set, key: route.params.key }} />;
    case "sets":
      return <ContentSets project={project} role={role} />;
    case "set":
      return <ContentSetPage project={project} role={role} setKey={route.params.set} />;
    case "install":
      return <Install project={project} role={role} />;
    case "exports":
      return <Exports project={project} role={role} />;
    case "recaps":
      return <Recaps project={project} role={role} />;
    case "privacy":
      return <Privacy project={project} role={role} />;
    case "keys":
      return <Keys project={project} role={role} />;
    case "settings":
      return <Settings project={project} role={role} onSaved={reloadProject} />;
    default:
      return (
        <section>
          <h1>{SCREENS.find((screen) => screen.name === name)?.label ?? "Screen"}</h1>
          <p>This screen is coming soon.</p>
        </section>
      );
  }
}
