import { useEffect } from "preact/hooks";
import { credential, roleOf, signOutLocally } from "./auth";
import { loadProjects, type Project } from "./projects";
import { href, location$, match, navigate, projectHref } from "./router";
import { useStore } from "./store";
import { setTheme, theme, type ThemeChoice } from "./theme";
import { useResource, type Resource } from "./ui/resource";
import { ErrorBox, Loading } from "./ui/states";
import { SignIn } from "./screens/SignIn";
import { Projects } from "./screens/Projects";
import { ProjectScreen, SCREENS } from "./screens/ProjectScreen";

export function App() {
  const path = useStore(location$);
  const current = useStore(credential);
  const route = match(path.split("?")[0]);

  useEffect(() => {
    if (!current && route.name !== "signin") navigate(href("/signin"), true);
  }, [current, route.name]);

  if (!current || route.name === "signin") {
    return (
      <>
        <SkipLink />
        <Header projects={null} projectId={null} />
        <SignIn />
      </>
    );
  }
  return <SignedIn route={route} />;
}

function SignedIn({ route }: { route: ReturnType<typeof match> }) {
  const current = useStore(credential)!;
  const projects = useResource(() => loadProjects(current), [current.token]);
  const projectId = route.params.project ?? null;
  const role = roleOf(current);

  let body;
  if (route.name === "projects") body = <Projects projects={projects} />;
  else if (projectId && SCREENS.some((screen) => screen.name === route.name) || route.name === "set") {
    body = <ProjectScreen route={route} projects={projects} role={role} />;
  } else {
    body = (
      <main id="main" class="page">
        <h1>Page not found</h1>
        <p>
          There is nothing at this address. <a href={href("/projects")}>Go to your projects</a>.
        </p>
      </main>
    );
  }
  return (
    <>
      <SkipLink />
      <Header projects={projects} projectId={projectId} />
      {body}
    </>
  );
}

function SkipLink() {
  return (
    <a class="skip-link" href="#main">
      Skip to content
    </a>
  );
}

function Header({ projects, projectId }: { projects: Resource<Project[]> | null; projectId: string | null }) {
  const current = useStore(credential);
  const choice = useStore(theme);
  return (
    <header class="topbar">
      <a class="brand" href={href("/projects")}>
        Feelback
      </a>
      {projects && <ProjectSwitcher projects={projects} projectId={projectId} />}
      <div class="topbar-end">
        <label class="visually-hidden" for="theme">
          Theme
        </label>
        <select id="theme" class="compact" value={choice} onChange={(e) => setTheme((e.target as HTMLSelectElement).value as ThemeChoice)}>
          <option value="system">System theme</option>
          <option value="light">Light</option>
          <option value="dark">Dark</option>
        </select>
        {current && (
          <button
            type="button"
            class="secondary compact"
            onClick={() => {
              signOutLocally();
              navigate(href("/signin"), true);
            }}
          >
            Sign out
          </button>
        )}
      </div>
    </header>
  );
}

function ProjectSwitcher({ projects, projectId }: { projects: Resource<Project[]>; projectId: string | null }) {
  if (projects.loading && !projects.data) return <Loading what="projects" />;
  if (projects.error) return <ErrorBox message={projects.error} retry={projects.reload} />;
  const list = projects.data ?? [];
  if (list.length < 2 && !projectId) return null;
  return (
    <>
      <label class="visually-hidden" for="project-switcher">
        Project
      </label>
      <select
        id="project-switcher"
        class="compact"
        value={projectId ?? ""}
        onChange={(event) => {
          const id = (event.target as HTMLSelectElement).value;
          navigate(id ? projectHref(id) : href("/projects"));
        }}
      >
        <option value="">All projects</option>
        {list.map((project) => (
          <option key={project.id} value={project.id}>
            {project.name}
          </option>
        ))}
      </select>
    </>
  );
}
