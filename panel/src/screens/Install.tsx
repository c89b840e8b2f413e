import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api/client";
import { must } from "../api/errors";
import { can, type Role } from "../auth";
import { typeLabel } from "../contentSets";
import type { Project } from "../projects";
import { projectHref } from "../router";
import { ELEMENTS, rememberPublicKey, rememberedPublicKey, scriptTag, widgetTag } from "../snippet";
import { CopyButton, Field, FormError, inputValue } from "../ui/forms";
import { useAction, useResource } from "../ui/resource";
import { Empty, Loaded, Notice } from "../ui/states";

const CHECK_MS = 3000;

export function Install({ project, role }: { project: Project; role: Role }) {
  const path = { project_id: project.id };
  const origin = location.origin;
  const sets = useResource(() => must(api.GET("/v1/projects/{project_id}/content-sets", { params: { path } })), [project.id]);
  const [publicKey, setPublicKey] = useState(rememberedPublicKey(project.id));
  const [preview, setPreview] = useState(false);
  const create = useAction();
  const firstSignal = useFirstSignal(project.id);

  function remember(key: string) {
    setPublicKey(key);
    rememberPublicKey(project.id, key);
  }

  async function newKey() {
    const created = await create.run(() =>
      must(api.POST("/v1/projects/{project_id}/keys", { params: { path }, body: { kind: "public", name: "Install snippet" } })),
    );
    if (created) remember(created.key);
  }

  const previewAllowed = project.allowed_origins.includes(origin);
  return (
    <section aria-labelledby="install-title">
      <h1 id="install-title">Install</h1>
      <p class={`check ${firstSignal ? "done" : ""}`} role="status" data-testid="first-signal">
        {firstSignal ? "✓ Signals are arriving: your widgets work." : "Waiting for the first signal… This turns green when one arrives."}
      </p>
      <div class="card stack">
        <h2>1. Your public key</h2>
        <Field
          id="install-key"
          label="Public key"
          help="Public keys (fb_pk_…) are safe in pages: they only send feedback and read public stats. Each is shown in full once, when it is made."
        >
          <input id="install-key" value={publicKey} onInput={(e) => remember(inputValue(e).trim())} aria-describedby="install-key-help" autoComplete="off" />
        </Field>
        {can.manageKeys(role) && (
          <div>
            <button type="button" class="secondary" onClick={newKey} disabled={create.busy}>
              Make a new public key for this snippet
            </button>
          </div>
        )}
        <FormError message={create.error} />
        <h2>2. Once per page, before the closing body tag</h2>
        <Snippet code={scriptTag(origin, publicKey)} label="the script tag" />
        <p class="help">
          Your pages must be on an allowed origin of the project:{" "}
          {project.allowed_origins.length ? project.allowed_origins.join(", ") : <a href={projectHref(project.id, "settings")}>none yet, add one</a>}.
        </p>
      </div>
      <h2>3. A widget where you want feedback</h2>
      <Loaded resource={sets} what="content sets">
        {(list) =>
          list.length === 0 ? (
            <Empty title="No content sets yet">
              <p>
                <a href={projectHref(project.id, "sets")}>Create a content set</a> first: it says what kind of feedback the widget collects.
              </p>
            </Empty>
          ) : (
            <>
              <ul class="snippets">
                {list.map((set) => (
                  <li key={set.key} class="card">
                    <h3>
                      {set.name || set.key} <span class="badge">{typeLabel(set.signal_type)}</span>
                    </h3>
                    <Snippet code={widgetTag(set.signal_type, set.key)} label={`the ${set.key} widget`} />
                    <p class="help">
                      The widget counts feedback per page (its path); add <code>content="…"</code> to name the content yourself.
                    </p>
                  </li>
                ))}
              </ul>
              <div class="card stack">
                <h2>Live preview</h2>
                {!previewAllowed && (
                  <Notice kind="warning">
                    The preview runs on this panel's address, {origin}, which is not an allowed origin of the project, so its widgets cannot
                    send. Add it in <a href={projectHref(project.id, "settings")}>Settings</a> to try them here, or use the snippet on your site.
                  </Notice>
                )}
                {preview ? (
                  publicKey.startsWith("fb_pk_") ? (
                    <Preview origin={origin} publicKey={publicKey} sets={list.map((set) => ({ key: set.key, type: set.signal_type }))} />
                  ) : (
                    <Notice kind="warning">Enter or make a public key first.</Notice>
                  )
                ) : (
                  <div>
                    <button type="button" class="secondary" onClick={() => setPreview(true)}>
                      Show the widgets here
                    </button>
                  </div>
                )}
              </div>
            </>
          )
        }
      </Loaded>
    </section>
  );
}

function Snippet({ code, label }: { code: string; label: string }) {
  return (
    <div class="snippet">
      <pre>
        <code>{code}</code>
      </pre>
      <CopyButton text={code} label={`Copy ${label}`} />
    </div>
  );
}

/** The SDK's address as the Trusted Types the panel's policy enforces want it: only this one script,
 * through the panel's one policy (named in its CSP: `trusted-types panel feelback`, the SDK's own). */
let scriptPolicy: { createScriptURL(url: string): string } | undefined;
function sdkScriptURL(origin: string): string {
  const url = `${origin}/sdk/v1/feelback.js`;
  const types = (globalThis as any).trustedTypes;
  if (!types) return url;
  scriptPolicy ??= types.createPolicy("panel", {
    createScriptURL: (asked: string) => {
      if (asked !== url) throw new TypeError(`the panel loads no script from ${asked}`);
      return asked;
    },
  });
  return scriptPolicy!.createScriptURL(url);
}

/** The project's widgets, live, on the content key "panel-preview" (the SDK script is loaded once). */
function Preview({ origin, publicKey, sets }: { origin: string; publicKey: string; sets: { key: string; type: string }[] }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!document.querySelector("script[data-feelback-preview]")) {
      const script = document.createElement("script");
      script.src = sdkScriptURL(origin);
      script.dataset.key = publicKey;
      script.dataset.feelbackPreview = "";
      document.head.append(script);
    }
    // Made as elements, not as HTML: what was typed in the key field stays an attribute's value.
    host.current?.replaceChildren(
      ...sets.map(({ key, type }) => {
        const widget = document.createElement(ELEMENTS[type] ?? ELEMENTS.yesno);
        widget.setAttribute("set", key);
        widget.setAttribute("content", "panel-preview");
        widget.setAttribute("key", publicKey);
        return widget;
      }),
    );
  }, [publicKey, sets.map((set) => set.key).join()]);
  return <div ref={host} class="preview" aria-label="Widget preview" role="region" />;
}

/** True once the project has any signal in the last 90 days (read again every few seconds until then). */
function useFirstSignal(projectId: string): boolean {
  const [seen, setSeen] = useState(false);
  useEffect(() => {
    if (seen) return;
    let stopped = false;
    async function check() {
      const { data } = await api.GET("/v1/projects/{project_id}/overview", { params: { path: { project_id: projectId }, query: { window: "90d" } } });
      if (!stopped && data && data.totals.signals > 0) setSeen(true);
    }
    void check();
    const timer = setInterval(check, CHECK_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [projectId, seen]);
  return seen;
}
