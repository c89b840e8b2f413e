import { useState } from "preact/hooks";
import { api } from "../api/client";
import { must } from "../api/errors";
import type { Project } from "../projects";
import { previewNote, RECAP_PERIODS, type RecapPeriod } from "../recaps";
import { useResource } from "../ui/resource";
import { ErrorBox, Loading, Notice } from "../ui/states";
import { TabList, TabPanel } from "../ui/Tabs";

/** The last complete week's or month's recap, as its e-mail shows it. The e-mail's HTML comes from the
 * API with visitors' text escaped, at a URL of its own with a policy of its own (a srcdoc frame would
 * inherit the panel's, which refuses the e-mail's inline styles); it is shown in a sandboxed frame (no
 * scripts, an opaque origin), so nothing in it can reach the panel. */
export function RecapPreview({ project }: { project: Project }) {
  const [period, setPeriod] = useState<RecapPeriod>("weekly");
  const preview = useResource(
    () => must(api.GET("/v1/projects/{project_id}/recaps/preview", { params: { path: { project_id: project.id }, query: { period } } })),
    [project.id, period],
  );
  const recap = preview.data;

  return (
    <section aria-labelledby="recap-preview-title" class="recap-preview">
      <h2 id="recap-preview-title">The last recap</h2>
      <TabList id="recap-period" label="Which recap" tabs={RECAP_PERIODS} selected={period} onSelect={setPeriod} />
      <TabPanel id="recap-period" selected={period}>
        {preview.error ? (
          <ErrorBox message={preview.error} retry={preview.reload} />
        ) : preview.loading || recap === undefined ? (
          <Loading what={`the ${period} recap`} />
        ) : (
          <>
            {previewNote(recap).empty ? <Notice kind="warning">{previewNote(recap).text}</Notice> : <p class="muted">{previewNote(recap).text}</p>}
            <p>
              <span class="muted">Subject:</span> {recap.subject}
            </p>
            <iframe class="recap-frame" title={`Preview of the e-mail: ${recap.subject}`} sandbox="" src={recap.html_url} referrerpolicy="no-referrer" />
          </>
        )}
      </TabPanel>
    </section>
  );
}
