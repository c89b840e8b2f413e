import { useState } from "preact/hooks";
import { api } from "../api/client";
import { done, must } from "../api/errors";
import { atLeast, can, type Role } from "../auth";
import { href, navigate } from "../router";
import { projectsChanged, type Project } from "../projects";
import { timeZones, originsFromText } from "../timezones";
import { Field, FormError, OriginsField, inputValue } from "../ui/forms";
import { useAction } from "../ui/resource";
import { Notice } from "../ui/states";

export function Settings({ project, role, onSaved }: { project: Project; role: Role; onSaved: () => void }) {
  const allowed = can.manageProjects(role);
  const [name, setName] = useState(project.name);
  const [origins, setOrigins] = useState(project.allowed_origins.join("\n"));
  const [timezone, setTimezone] = useState(project.timezone);
  const [retention, setRetention] = useState(String(project.retention_days));
  const [saved, setSaved] = useState(false);
  const action = useAction();

  async function submit(event: Event) {
    event.preventDefault();
    setSaved(false);
    const days = Number(retention);
    const result = await action.run(async () => {
      if (!Number.isInteger(days) || days < 1) throw new Error("Keep signals for a whole number of days, at least 1.");
      return must(
        api.PATCH("/v1/projects/{project_id}", {
          params: { path: { project_id: project.id } },
          body: { name: name.trim(), allowed_origins: originsFromText(origins), timezone, retention_days: days },
        }),
      );
    });
    if (result) {
      setSaved(true);
      onSaved();
      projectsChanged();
    }
  }

  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">Settings</h1>
      {!allowed && <Notice>Your role can read these settings but not change them.</Notice>}
      <form class="card stack" onSubmit={submit}>
        <fieldset disabled={!allowed || action.busy}>
          <legend class="visually-hidden">Project settings</legend>
          <Field id="settings-name" label="Name">
            <input id="settings-name" required maxLength={200} value={name} onInput={(e) => setName(inputValue(e))} />
          </Field>
          <OriginsField id="settings-origins" value={origins} onChange={setOrigins} rows={3} />
          <Field id="settings-timezone" label="Time zone" help="Days, weeks and months in stats and recaps start at midnight here.">
            <select id="settings-timezone" value={timezone} onChange={(e) => setTimezone(inputValue(e))} aria-describedby="settings-timezone-help">
              {timeZones().map((zone) => (
                <option key={zone} value={zone}>
                  {zone}
                </option>
              ))}
            </select>
          </Field>
          <Field id="settings-retention" label="Keep signals for (days)" help="Older signals are deleted for good by the nightly clean-up.">
            <input
              id="settings-retention"
              type="number"
              min={1}
              inputMode="numeric"
              value={retention}
              onInput={(e) => setRetention(inputValue(e))}
              aria-describedby="settings-retention-help"
            />
          </Field>
          <FormError message={action.error} />
          {saved && <Notice kind="success">Saved.</Notice>}
          <div>
            <button type="submit">{action.busy ? "Saving…" : "Save settings"}</button>
          </div>
        </fieldset>
      </form>
      <p class="muted">Project id: <code>{project.id}</code></p>
      {atLeast(role, "owner") && <DeleteProject project={project} />}
    </section>
  );
}

function DeleteProject({ project }: { project: Project }) {
  const [typed, setTyped] = useState("");
  const action = useAction();
  return (
    <details class="card danger-zone">
      <summary>Delete this project</summary>
      <form
        class="stack"
        onSubmit={async (event) => {
          event.preventDefault();
          const deleted = await action.run(() => done(api.DELETE("/v1/projects/{project_id}", { params: { path: { project_id: project.id } } })));
          if (deleted) {
            projectsChanged();
            navigate(href("/projects"), true);
          }
        }}
      >
        <p>Its settings, keys and content sets go at once; its signals are removed from the warehouse by the retention job.</p>
        <Field id="delete-name" label={`Type the project's name, ${project.name}, to confirm`}>
          <input id="delete-name" value={typed} onInput={(e) => setTyped(inputValue(e))} autoComplete="off" />
        </Field>
        <FormError message={action.error} />
        <div>
          <button type="submit" class="danger" disabled={typed !== project.name || action.busy}>
            Delete project
          </button>
        </div>
      </form>
    </details>
  );
}
