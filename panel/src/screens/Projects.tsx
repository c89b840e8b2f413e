import { useState } from "preact/hooks";
import { api } from "../api/client";
import { must } from "../api/errors";
import type { components } from "../api/schema";
import { can, chooseOrganization, credential, currentOrgId, me, signedInAs } from "../auth";
import { projectHref } from "../router";
import { useStore } from "../store";
import { rememberPublicKey } from "../snippet";
import { originsFromText } from "../timezones";
import { Field, FormError, OriginsField, ShownOnce, inputValue } from "../ui/forms";
import { useAction, type Resource } from "../ui/resource";
import { Empty, Loaded, Notice } from "../ui/states";
import type { Project } from "../projects";

type Created = components["schemas"]["ProjectCreated"];

export function Projects({ projects }: { projects: Resource<Project[]> }) {
  const bearer = useStore(credential);
  const person = useStore(me);
  const orgId = useStore(currentOrgId);
  const organization = person?.organizations.find((org) => org.id === orgId);

  if (!bearer && person && person.organizations.length === 0) {
    return (
      <main id="main" class="page">
        <h1>Welcome to Feelback</h1>
        <p class="lead">Projects belong to an organization: your company or team. Name yours to start; you can invite people later.</p>
        <CreateOrganization />
      </main>
    );
  }
  const canCreate = bearer?.kind === "admin" || (organization !== undefined && can.manageProjects(organization.role));
  return (
    <main id="main" class="page">
      <h1>{organization ? `Projects of ${organization.name}` : "Projects"}</h1>
      <Loaded resource={projects} what="your projects">
        {(list) =>
          list.length === 0 ? (
            <Empty title="No projects yet">
              <p>A project holds the feedback of one website or app.{canCreate ? " Create your first one below." : " Ask an admin to create one."}</p>
            </Empty>
          ) : (
            <ul class="cards" aria-label="Projects">
              {list.map((project) => (
                <li class="card" key={project.id}>
                  <h2 class="card-title">
                    <a href={projectHref(project.id)}>{project.name}</a>
                  </h2>
                  <p class="muted">
                    {project.allowed_origins.length ? project.allowed_origins.join(", ") : "No allowed origins yet"} · {project.timezone}
                  </p>
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
      {!bearer && person && (
        <details class="card">
          <summary>Create another organization</summary>
          <CreateOrganization />
        </details>
      )}
      {canCreate ? (
        <CreateProject orgId={bearer ? null : orgId} onCreated={projects.reload} />
      ) : (
        organization && <Notice>Your role ({organization.role}) cannot create projects.</Notice>
      )}
    </main>
  );
}

function CreateOrganization() {
  const [name, setName] = useState("");
  const action = useAction();
  return (
    <form
      class="card stack"
      onSubmit={async (event) => {
        event.preventDefault();
        const created = await action.run(() => must(api.POST("/v1/organizations", { body: { name: name.trim() } })));
        if (created) {
          signedInAs(await must(api.GET("/v1/me")));
          chooseOrganization(created.id);
        }
      }}
    >
      <Field id="org-name" label="Organization name" help="E.g. your company's name.">
        <input id="org-name" required maxLength={200} value={name} onInput={(e) => setName(inputValue(e))} aria-describedby="org-name-help" />
      </Field>
      <FormError message={action.error} />
      <div>
        <button type="submit" disabled={action.busy || !name.trim()}>
          Create organization
        </button>
      </div>
    </form>
  );
}

function CreateProject({ orgId, onCreated }: { orgId: string | null; onCreated: () => void }) {
  const [name, setName] = useState("");
  const [origins, setOrigins] = useState("");
  const [created, setCreated] = useState<Created | null>(null);
  const action = useAction();

  async function submit(event: Event) {
    event.preventDefault();
    const body = { name: name.trim(), allowed_origins: originsFromText(origins) };
    const result = await action.run(() =>
      must(orgId ? api.POST("/v1/organizations/{org_id}/projects", { params: { path: { org_id: orgId } }, body }) : api.POST("/v1/projects", { body })),
    );
    if (result) {
      rememberPublicKey(result.project.id, result.public_key);
      setCreated(result);
      setName("");
      setOrigins("");
      onCreated();
    }
  }

  return (
    <section class="card" aria-labelledby="create-project">
      <h2 id="create-project">Create a project</h2>
      {created ? (
        <div class="stack">
          <p>
            <strong>{created.project.name}</strong> is ready.
          </p>
          <ShownOnce label="Public key (for your pages)" value={created.public_key} />
          <ShownOnce label="Secret key (for your servers)" value={created.secret_key} />
          <p class="row-actions">
            <a class="button" href={projectHref(created.project.id, "install")}>
              Install the widgets
            </a>
            <button type="button" class="secondary" onClick={() => setCreated(null)}>
              Create another
            </button>
          </p>
        </div>
      ) : (
        <form class="stack" onSubmit={submit}>
          <Field id="project-name" label="Name" help="What you call the site or app, e.g. “Docs”.">
            <input id="project-name" required maxLength={200} value={name} onInput={(e) => setName(inputValue(e))} aria-describedby="project-name-help" />
          </Field>
          <OriginsField id="project-origins" value={origins} onChange={setOrigins} />
          <FormError message={action.error} />
          <div>
            <button type="submit" disabled={action.busy || !name.trim()}>
              {action.busy ? "Creating…" : "Create project"}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
