import { useState } from "preact/hooks";
import { api } from "../api/client";
import { done, must } from "../api/errors";
import { can, type Role } from "../auth";
import { typeLabel } from "../contentSets";
import type { Project } from "../projects";
import { navigate, projectHref } from "../router";
import { useAction, useResource } from "../ui/resource";
import { Empty, Loaded, Notice, Table } from "../ui/states";
import { ContentSetForm, type ContentSetValues } from "./ContentSetForm";

export function ContentSets({ project, role }: { project: Project; role: Role }) {
  const path = { project_id: project.id };
  const sets = useResource(() => must(api.GET("/v1/projects/{project_id}/content-sets", { params: { path } })), [project.id]);
  const allowed = can.editContent(role);
  const [creating, setCreating] = useState(false);
  const action = useAction();

  async function create(values: ContentSetValues) {
    const created = await action.run(() => must(api.POST("/v1/projects/{project_id}/content-sets", { params: { path }, body: values })));
    if (created) {
      setCreating(false);
      sets.reload();
      navigate(projectHref(project.id, `sets/${encodeURIComponent(created.key)}`));
    }
  }

  return (
    <section aria-labelledby="sets-title">
      <h1 id="sets-title">Content sets</h1>
      <p class="lead">
        A content set is one kind of feedback on one kind of content, e.g. “Was this page helpful?” on every documentation page. Your pages
        name the set by its key and each content (page, article, product) by a key of yours.
      </p>
      <Loaded resource={sets} what="content sets">
        {(list) =>
          list.length === 0 ? (
            <Empty title="No content sets yet">
              <p>Create one to start collecting feedback.</p>
            </Empty>
          ) : (
            <Table caption={`Content sets of ${project.name}`} columns={["Key", "Name", "Kind", "Stats"]}>
                  {list.map((set) => (
                    <tr key={set.key}>
                      <td>
                        <a href={projectHref(project.id, `sets/${encodeURIComponent(set.key)}`)}>{set.key}</a>
                      </td>
                      <td>{set.name || "—"}</td>
                      <td>{typeLabel(set.signal_type)}</td>
                      <td>{set.public_stats ? "Public" : "Private"}</td>
                    </tr>
                  ))}
                </Table>
          )
        }
      </Loaded>
      {!allowed ? (
        <Notice>Your role can look at content sets but not change them.</Notice>
      ) : creating ? (
        <section class="card" aria-labelledby="new-set">
          <h2 id="new-set">New content set</h2>
          <ContentSetForm disabled={false} busy={action.busy} error={action.error} submitLabel="Create content set" onSubmit={create} />
        </section>
      ) : (
        <button type="button" onClick={() => setCreating(true)}>
          New content set
        </button>
      )}
    </section>
  );
}

export function ContentSetPage({ project, role, setKey }: { project: Project; role: Role; setKey: string }) {
  const path = { project_id: project.id, set_key: setKey };
  const set = useResource(() => must(api.GET("/v1/projects/{project_id}/content-sets/{set_key}", { params: { path } })), [project.id, setKey]);
  const save = useAction();
  const remove = useAction();
  const [saved, setSaved] = useState(false);
  const allowed = can.editContent(role);

  async function update(values: ContentSetValues) {
    setSaved(false);
    const { key: _key, ...changes } = values;
    const result = await save.run(() => must(api.PATCH("/v1/projects/{project_id}/content-sets/{set_key}", { params: { path }, body: changes })));
    if (result) {
      setSaved(true);
      set.reload();
    }
  }

  async function destroy() {
    if (!confirm(`Delete the content set “${setKey}”? This is possible only while it has no signals.`)) return;
    const deleted = await remove.run(() => done(api.DELETE("/v1/projects/{project_id}/content-sets/{set_key}", { params: { path } })));
    if (deleted) navigate(projectHref(project.id, "sets"));
  }

  return (
    <section aria-labelledby="set-title">
      <p>
        <a href={projectHref(project.id, "sets")}>← All content sets</a>
      </p>
      <h1 id="set-title">
        Content set <code>{setKey}</code>
      </h1>
      <Loaded resource={set} what="the content set">
        {(current) => (
          <>
            {!allowed && <Notice>Your role can look at this content set but not change it.</Notice>}
            {saved && <Notice kind="success">Saved.</Notice>}
            <div class="card">
              <ContentSetForm key={current.updated_at} initial={current} disabled={!allowed} busy={save.busy} error={save.error} submitLabel="Save changes" onSubmit={update} />
            </div>
            <p class="row-actions">
              <a class="button secondary" href={projectHref(project.id, "install")}>
                Put it on a page
              </a>
              {allowed && (
                <button type="button" class="danger" onClick={destroy} disabled={remove.busy}>
                  Delete content set
                </button>
              )}
            </p>
            {remove.error && <p class="field-error" role="alert">{remove.error}</p>}
          </>
        )}
      </Loaded>
    </section>
  );
}
