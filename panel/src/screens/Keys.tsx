import { useState } from "preact/hooks";
import { api } from "../api/client";
import { must } from "../api/errors";
import type { components } from "../api/schema";
import { can, type Role } from "../auth";
import type { Project } from "../projects";
import { Field, FormError, ShownOnce, inputValue } from "../ui/forms";
import { useAction, useResource } from "../ui/resource";
import { Empty, Loaded, Notice, Table } from "../ui/states";
import { formatDate } from "../format";

type KeyKind = components["schemas"]["KeyKind"];

export function Keys({ project, role }: { project: Project; role: Role }) {
  const path = { project_id: project.id };
  const keys = useResource(() => must(api.GET("/v1/projects/{project_id}/keys", { params: { path } })), [project.id]);
  const allowed = can.manageKeys(role);
  const [kind, setKind] = useState<KeyKind>("secret");
  const [name, setName] = useState("");
  const [shown, setShown] = useState<string | null>(null);
  const create = useAction();
  const revoke = useAction();

  async function submit(event: Event) {
    event.preventDefault();
    const created = await create.run(() =>
      must(api.POST("/v1/projects/{project_id}/keys", { params: { path }, body: { kind, name: name.trim() } })),
    );
    if (created) {
      setShown(created.key);
      setName("");
      keys.reload();
    }
  }

  async function revokeKey(id: number, display: string) {
    if (!confirm(`Revoke ${display}? Anything that uses it stops working at once.`)) return;
    const done = await revoke.run(() =>
      must(api.DELETE("/v1/projects/{project_id}/keys/{key_id}", { params: { path: { ...path, key_id: id } } })),
    );
    if (done) keys.reload();
  }

  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">API keys</h1>
      <p class="lead">
        A <strong>public key</strong> goes in your pages: it can only send feedback and read public stats. A <strong>secret key</strong> manages
        the project: keep it on your servers.
      </p>
      <FormError message={revoke.error} />
      <Loaded resource={keys} what="keys">
        {(list) =>
          list.length === 0 ? (
            <Empty title="No keys" />
          ) : (
            <Table caption={`Keys of ${project.name}`} columns={["Key", "Kind", "Name", "Created", "Status", "Actions"]}>
                  {list.map((key) => {
                    const display = `${key.prefix}…${key.last4}`;
                    return (
                      <tr key={key.id}>
                        <td>
                          <code>{display}</code>
                        </td>
                        <td>{key.kind}</td>
                        <td>{key.name || "—"}</td>
                        <td>{formatDate(key.created_at)}</td>
                        <td>{key.is_active ? "Active" : `Revoked ${formatDate(key.revoked_at ?? "")}`}</td>
                        <td>
                          {key.is_active && allowed && (
                            <button type="button" class="danger small" onClick={() => revokeKey(key.id, display)} aria-label={`Revoke ${display}`}>
                              Revoke
                            </button>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </Table>
          )
        }
      </Loaded>
      {allowed ? (
        <form class="card stack" onSubmit={submit} aria-labelledby="new-key">
          <h2 id="new-key">New key</h2>
          {shown && <ShownOnce label="Your new key" value={shown} />}
          <Field id="key-kind" label="Kind">
            <select id="key-kind" value={kind} onChange={(e) => setKind(inputValue(e) as KeyKind)}>
              <option value="secret">Secret (servers, this panel)</option>
              <option value="public">Public (your pages)</option>
            </select>
          </Field>
          <Field id="key-name" label="Name" help="Where you will use it, e.g. “CI export job”.">
            <input id="key-name" maxLength={200} value={name} onInput={(e) => setName(inputValue(e))} aria-describedby="key-name-help" />
          </Field>
          <FormError message={create.error} />
          <div>
            <button type="submit" disabled={create.busy}>
              {create.busy ? "Creating…" : "Create key"}
            </button>
          </div>
        </form>
      ) : (
        <Notice>Your role cannot create or revoke keys.</Notice>
      )}
    </section>
  );
}
