import { useState } from "preact/hooks";
import { api } from "../api/client";
import { must } from "../api/errors";
import type { components } from "../api/schema";
import { atLeast, type Role } from "../auth";
import { formatDateTime, plural } from "../format";
import type { Project } from "../projects";
import { ContentSetSelect, Field, FormError, inputValue } from "../ui/forms";
import { useAction, useResource } from "../ui/resource";
import { Empty, Loaded, Notice, Table } from "../ui/states";

type Impact = components["schemas"]["ErasureImpact"];
const STATUS: Record<string, string> = { pending: "Waiting", running: "Erasing", done: "Erased", failed: "Failed, will be retried" };

export function Privacy({ project, role }: { project: Project; role: Role }) {
  const path = { project_id: project.id };
  const allowed = atLeast(role, "admin");
  const erasures = useResource(() => must(api.GET("/v1/projects/{project_id}/erasures", { params: { path } })), [project.id]);
  const sets = useResource(() => must(api.GET("/v1/projects/{project_id}/content-sets", { params: { path } })), [project.id]);
  const [kind, setKind] = useState<"visitor" | "content">("visitor");
  const [visitorId, setVisitorId] = useState("");
  const [contentKey, setContentKey] = useState("");
  const [contentSet, setContentSet] = useState("");
  const [impact, setImpact] = useState<Impact | null>(null);
  const check = useAction();
  const erase = useAction();

  const subject = () =>
    kind === "visitor" ? { visitor_id: visitorId.trim() } : { content_key: contentKey.trim(), content_set: contentSet || undefined };

  async function preview(event: Event) {
    event.preventDefault();
    setImpact((await check.run(() => must(api.GET("/v1/projects/{project_id}/erasures/preview", { params: { path, query: subject() } })))) ?? null);
  }

  async function confirmErase() {
    if (!confirm("Erase for good? This cannot be undone.")) return;
    if (await erase.run(() => must(api.POST("/v1/projects/{project_id}/erasures", { params: { path }, body: subject() })))) {
      setImpact(null);
      setVisitorId("");
      setContentKey("");
      erasures.reload();
    }
  }

  return (
    <section aria-labelledby="privacy-title">
      <h1 id="privacy-title">Privacy</h1>
      <p class="lead">
        Erase every signal of one visitor (when a person asks you to), or every signal about one content. Visitor ids are in the inbox and in
        exports. The pipelines carry requests out within minutes and correct the stats.
      </p>
      {allowed ? (
        <form class="card stack" onSubmit={preview}>
          <fieldset class="radio-group">
            <legend>Erase</legend>
            <label class="inline radio">
              <input type="radio" name="erase-kind" checked={kind === "visitor"} onChange={() => (setKind("visitor"), setImpact(null))} /> A visitor's
              signals
            </label>
            <label class="inline radio">
              <input type="radio" name="erase-kind" checked={kind === "content"} onChange={() => (setKind("content"), setImpact(null))} /> The signals
              about a content
            </label>
          </fieldset>
          {kind === "visitor" ? (
            <Field id="erase-visitor" label="Visitor id">
              <input id="erase-visitor" value={visitorId} maxLength={200} onInput={(e) => (setVisitorId(inputValue(e)), setImpact(null))} />
            </Field>
          ) : (
            <>
              <Field id="erase-content" label="Content key" help="E.g. the page path, /pricing.">
                <input id="erase-content" value={contentKey} onInput={(e) => (setContentKey(inputValue(e)), setImpact(null))} aria-describedby="erase-content-help" />
              </Field>
              <ContentSetSelect id="erase-set" sets={sets.data ?? []} value={contentSet} onChange={(key) => (setContentSet(key), setImpact(null))} any="Every content set" />
            </>
          )}
          <FormError message={check.error ?? erase.error} />
          {impact && (
            <Notice kind={impact.signals ? "warning" : "info"}>
              {impact.signals
                ? `This erases ${plural(impact.signals, "signal")} (${plural(impact.events, "event")}) for good.`
                : "Nothing matches now; a request still removes what arrives before it is carried out."}
            </Notice>
          )}
          <div class="row-actions">
            <button type="submit" class="secondary" disabled={check.busy}>
              Check what it removes
            </button>
            {impact && (
              <button type="button" class="danger" onClick={confirmErase} disabled={erase.busy}>
                Erase
              </button>
            )}
          </div>
        </form>
      ) : (
        <Notice>Only admins and owners ask for erasures.</Notice>
      )}
      <Loaded resource={erasures} what="erasure requests">
        {(list) =>
          list.length === 0 ? (
            <Empty title="No erasure requests" />
          ) : (
            <Table caption="Erasure requests" columns={["Asked", "What", "Status"]}>
              {list.map((entry) => (
                <tr key={entry.id}>
                  <td>{formatDateTime(entry.created_at)}</td>
                  <td>{entry.visitor_id ? `Visitor ${entry.visitor_id}` : `Content ${entry.content_set ? `${entry.content_set} ` : ""}${entry.content_key}`}</td>
                  <td>
                    {STATUS[entry.status] ?? entry.status}
                    {entry.finished_at && ` ${formatDateTime(entry.finished_at)}`}
                  </td>
                </tr>
              ))}
            </Table>
          )
        }
      </Loaded>
    </section>
  );
}
