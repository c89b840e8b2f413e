import { useEffect, useState } from "preact/hooks";
import { api } from "../api/client";
import { must } from "../api/errors";
import type { components } from "../api/schema";
import { can, type Role } from "../auth";
import { formatDateTime } from "../format";
import type { Project } from "../projects";
import { ContentSetSelect, Field, FormError, inputValue } from "../ui/forms";
import { useAction, useResource } from "../ui/resource";
import { Empty, Loaded, Notice, Table } from "../ui/states";

type Format = components["schemas"]["ExportFormat"];
const WATCH_MS = 2000;
const STATUS: Record<string, string> = { pending: "Waiting", running: "Being written", done: "Ready", failed: "Failed" };

function dayStart(day: string): string | undefined {
  return day ? new Date(`${day}T00:00:00Z`).toISOString() : undefined;
}

export function Exports({ project, role }: { project: Project; role: Role }) {
  const path = { project_id: project.id };
  const [tick, setTick] = useState(0);
  const exports = useResource(() => must(api.GET("/v1/projects/{project_id}/exports", { params: { path } })), [project.id, tick]);
  const sets = useResource(() => must(api.GET("/v1/projects/{project_id}/content-sets", { params: { path } })), [project.id]);
  const [format, setFormat] = useState<Format>("csv");
  const [contentSet, setContentSet] = useState("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const request = useAction();
  const unfinished = (exports.data ?? []).some((entry) => entry.status === "pending" || entry.status === "running");

  // Watch unfinished exports until they are ready.
  useEffect(() => {
    if (!unfinished) return;
    const timer = setTimeout(() => setTick((value) => value + 1), WATCH_MS);
    return () => clearTimeout(timer);
  }, [unfinished, exports.data]);

  async function submit(event: Event) {
    event.preventDefault();
    const body = { format, content_set: contentSet || undefined, from: dayStart(from), to: dayStart(to) };
    if (await request.run(() => must(api.POST("/v1/projects/{project_id}/exports", { params: { path }, body })))) setTick((value) => value + 1);
  }

  return (
    <section aria-labelledby="exports-title">
      <h1 id="exports-title">Exports</h1>
      <p class="lead">Every signal event of the project (or one content set) as a file: CSV for spreadsheets, JSON lines or Parquet for data tools.</p>
      {can.export(role) ? (
        <form class="card filters" onSubmit={submit}>
          <Field id="export-format" label="Format">
            <select id="export-format" value={format} onChange={(e) => setFormat(inputValue(e) as Format)}>
              <option value="csv">CSV</option>
              <option value="jsonl">JSON lines</option>
              <option value="parquet">Parquet</option>
            </select>
          </Field>
          <ContentSetSelect id="export-set" sets={sets.data ?? []} value={contentSet} onChange={setContentSet} any="All" />
          <Field id="export-from" label="From (UTC day)">
            <input id="export-from" type="date" value={from} onInput={(e) => setFrom(inputValue(e))} />
          </Field>
          <Field id="export-to" label="Until, not included">
            <input id="export-to" type="date" value={to} onInput={(e) => setTo(inputValue(e))} />
          </Field>
          <div>
            <button type="submit" disabled={request.busy}>
              Request export
            </button>
          </div>
          <FormError message={request.error} />
        </form>
      ) : (
        <Notice>Your role can download exports but not request them.</Notice>
      )}
      <Loaded resource={exports} what="exports">
        {(list) =>
          list.length === 0 ? (
            <Empty title="No exports yet" />
          ) : (
            <Table caption="Exports" columns={["Asked", "Format", "What", "Status", "File"]}>
                  {[...list].reverse().map((entry) => (
                    <tr key={entry.id}>
                      <td>{formatDateTime(entry.created_at)}</td>
                      <td>{entry.format}</td>
                      <td>{String((entry.filters as { content_set?: string }).content_set ?? "All content sets")}</td>
                      <td data-testid={`export-status-${entry.id}`}>
                        {STATUS[entry.status] ?? entry.status}
                        {entry.error && <span class="field-error"> — {entry.error}</span>}
                      </td>
                      <td>
                        {entry.download_url ? (
                          <a href={entry.download_url} download>
                            Download
                          </a>
                        ) : entry.status === "done" ? (
                          "Expired"
                        ) : (
                          "—"
                        )}
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
