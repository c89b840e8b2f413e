import { useState } from "preact/hooks";
import { api } from "../api/client";
import { errorText } from "../api/errors";
import { signIn, tokenKind } from "../auth";
import { href, navigate, projectHref } from "../router";

/** Operators and scripts: the admin token (every project) or a project's secret key (that project). */
export function KeySignIn() {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    const value = token.trim();
    if (!value) return setError("Paste a secret key or the admin token first.");
    if (tokenKind(value) === "public") {
      return setError("That is a public key (fb_pk_…): it goes in your pages. Sign in with a secret key (fb_sk_…).");
    }
    setBusy(true);
    setError(null);
    const headers = { Authorization: `Bearer ${value}` };
    try {
      if (tokenKind(value) === "secret") {
        const { data, error: failure, response } = await api.GET("/v1/key", { headers });
        if (!data) throw new Error(errorText(failure, response.status));
        signIn({ kind: "key", token: value, projectId: data.project.id });
        navigate(projectHref(data.project.id), true);
      } else {
        const { data, error: failure, response } = await api.GET("/v1/projects", { headers });
        if (!data) throw new Error(response.status === 401 ? "That admin token is not valid." : errorText(failure, response.status));
        signIn({ kind: "admin", token: value });
        navigate(href("/projects"), true);
      }
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : errorText(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} class="stack" noValidate>
      <label for="token">Secret key or admin token</label>
      <input
        id="token"
        name="token"
        type="password"
        autoComplete="off"
        value={token}
        onInput={(event) => setToken((event.target as HTMLInputElement).value)}
        aria-describedby="token-help"
        aria-invalid={error ? "true" : undefined}
      />
      <p id="token-help" class="help">
        A project's secret key (starts with <code>fb_sk_</code>) opens that project with every right. The operator's admin token opens every
        project. Kept only in this tab.
      </p>
      {error && (
        <p class="field-error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? "Signing in…" : "Sign in with the key"}
      </button>
    </form>
  );
}
