import { useEffect } from "preact/hooks";
import { api } from "./api/client";
import { chooseOrganization, credential, currentOrgId, me, signedInAs, signOutLocally } from "./auth";
import { loadProjects, projectsVersion, type Project } from "./projects";
import { href, location$, match, navigate, projectHref, PUBLIC_SCREENS, type Route } from "./router";
import { useStore } from "./store";
import { setTheme, theme, type ThemeChoice } from "./theme";
import { useResource, type Resource } from "./ui/resource";
import { ErrorBox, Loading } from "./ui/states";
import { ConfirmEmailPage, InvitationPage, MagicLinkPage, ResetPasswordPage, SignInPage, SignUpPage, VerifyEmailPage } from "./screens/Account";
import { Members } from "./screens/Members";
import { Projects } from "./screens/Projects";
import { ProjectScreen, SCREENS } from "./screens/ProjectScreen";

const PUBLIC_PAGES: Record<string, () => preact.JSX.Element> = {
  signin: SignInPage,
  signup: SignUpPage,
  verify: VerifyEmailPage,
  magic: MagicLinkPage,
  reset: ResetPasswordPage,
  invitation: InvitationPage,
  confirmEmail: ConfirmEmailPage,
};

async function checkSession(): Promise<void> {
  try {
    const { data } = await api.GET("/v1/me");
    if (data) signedInAs(data);
    else me.set(null);
  } catch {
    me.set(null);
  }
}

export function App() {
  const path = useStore(location$);
  const bearer = useStore(credential);
  const person = useStore(me);
  const route = match(path.split("?")[0]);
  const signedIn = Boolean(bearer || person);

  useEffect(() => {
    if (!bearer && person === undefined) void checkSession();
  }, [bearer, person]);

  useEffect(() => {
    if (!signedIn && person !== undefined && !PUBLIC_SCREENS.has(route.name)) navigate(href("/signin"), true);
    if (signedIn && (route.name === "signin" || route.name === "signup")) navigate(href("/projects"), true);
  }, [signedIn, person, route.name]);

  if (!bearer && person === undefined) return <Loading what="Feelback" />;
  const Page = PUBLIC_PAGES[route.name];
  if (Page && !(signedIn && (route.name === "signin" || route.name === "signup"))) {
    return (
      <>
        <SkipLink />
        <Header projects={null} projectId={null} />
        <Page />
      </>
    );
  }
  if (!signedIn) return <Loading what="the sign-in page" />;
  return <SignedIn route={route} />;
}

function SignedIn({ route }: { route: Route }) {
  const bearer = useStore(credential);
  const orgId = useStore(currentOrgId);
  const version = useStore(projectsVersion);
  const projects = useResource(() => loadProjects(bearer, orgId), [bearer?.token, orgId, version]);
  const projectId = route.params.project ?? null;

  let body;
  if (route.name === "projects") body = <Projects projects={projects} />;
  else if (route.name === "members") body = <Members orgId={route.params.org} />;
  else if (projectId && (SCREENS.some((screen) => screen.name === route.name) || route.name === "set" || route.name === "content")) {
    body = <ProjectScreen route={route} />;
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

async function signOut(): Promise<void> {
  if (!credential.value) await api.POST("/v1/auth/sign-out").catch(() => undefined);
  signOutLocally();
  navigate(href("/signin"), true);
}

function Header({ projects, projectId }: { projects: Resource<Project[]> | null; projectId: string | null }) {
  const bearer = useStore(credential);
  const person = useStore(me);
  const orgId = useStore(currentOrgId);
  const choice = useStore(theme);
  const orgs = bearer ? [] : person?.organizations ?? [];
  return (
    <header class="topbar">
      <a class="brand" href={href("/projects")}>
        Feelback
      </a>
      {orgs.length > 1 && (
        <>
          <label class="visually-hidden" for="org-switcher">
            Organization
          </label>
          <select
            id="org-switcher"
            class="compact"
            value={orgId ?? ""}
            onChange={(event) => {
              chooseOrganization((event.target as HTMLSelectElement).value);
              navigate(href("/projects"));
            }}
          >
            {orgs.map((org) => (
              <option key={org.id} value={org.id}>
                {org.name}
              </option>
            ))}
          </select>
        </>
      )}
      {projects && <ProjectSwitcher projects={projects} projectId={projectId} />}
      <div class="topbar-end">
        {orgs.length > 0 && orgId && <a href={href(`/org/${encodeURIComponent(orgId)}/members`)}>Members</a>}
        <label class="visually-hidden" for="theme">
          Theme
        </label>
        <select id="theme" class="compact" value={choice} onChange={(e) => setTheme((e.target as HTMLSelectElement).value as ThemeChoice)}>
          <option value="system">System theme</option>
          <option value="light">Light</option>
          <option value="dark">Dark</option>
        </select>
        {(bearer || person) && (
          <button type="button" class="secondary compact" onClick={signOut} title={person?.user.email}>
            Sign out
          </button>
        )}
      </div>
    </header>
  );
}

function ProjectSwitcher({ projects, projectId }: { projects: Resource<Project[]>; projectId: string | null }) {
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
        {projectId && !list.some((project) => project.id === projectId) && <option value={projectId}>This project</option>}
      </select>
    </>
  );
}
