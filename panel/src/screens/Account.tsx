// Signing up, in and out; the pages that mail links open (verify, sign-in link, reset, invitation).
import { useEffect, useState } from "preact/hooks";
import type { ComponentChildren } from "preact";
import { api } from "../api/client";
import { must } from "../api/errors";
import { me, signedInAs, signOutReason, type Me } from "../auth";
import { href, navigate, queryParam } from "../router";
import { useStore } from "../store";
import { Field, FormError, inputValue } from "../ui/forms";
import { useAction, useResource } from "../ui/resource";
import { ErrorBox, Loaded, Loading, Notice } from "../ui/states";
import { KeySignIn } from "./SignIn";

const PENDING_INVITATION = "feelback.invitation";
const OUTBOX_HINT = "Running Feelback on your own machine? The mail is a file in the outbox folder, .feelback/outbox.";

function AccountPage({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <main id="main" class="signin">
      <h1>{title}</h1>
      {children}
    </main>
  );
}

function checkNewPassword(password: string): void {
  if (password.length < 10) throw new Error("Choose a password of at least 10 characters.");
}

function NewPassword({ id, label, help, value, onChange }: { id: string; label: string; help: string; value: string; onChange: (value: string) => void }) {
  return (
    <Field id={id} label={label} help={help}>
      <input id={id} type="password" autoComplete="new-password" required value={value} onInput={(e) => onChange(inputValue(e))} aria-describedby={`${id}-help`} />
    </Field>
  );
}

/** Where to go once signed in: back to a pending invitation, or to the projects. */
export function afterSignIn(person: Me): void {
  signedInAs(person);
  const invitation = localStorage.getItem(PENDING_INVITATION);
  navigate(invitation ? href(`/invitations/accept?token=${encodeURIComponent(invitation)}`) : href("/projects"), true);
}

export function SignInPage() {
  const reason = useStore(signOutReason);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [sent, setSent] = useState<string | null>(null);
  const action = useAction();

  async function submit(event: Event) {
    event.preventDefault();
    const person = await action.run(() => must(api.POST("/v1/auth/sign-in", { body: { email: email.trim(), password } })));
    if (person) afterSignIn(person);
  }

  async function mailLink() {
    if (!email.trim()) return action.run(async () => Promise.reject(new Error("Enter your e-mail address first.")));
    const done = await action.run(() => must(api.POST("/v1/auth/magic-link", { body: { email: email.trim() } })));
    if (done) setSent(email.trim());
  }

  return (
    <AccountPage title="Sign in to Feelback">
      {reason && <Notice kind="warning">{reason}</Notice>}
      {sent && (
        <Notice kind="success">
          If {sent} has an account, a sign-in link is on its way. It works once, for 15 minutes. {OUTBOX_HINT}
        </Notice>
      )}
      <form onSubmit={submit} class="card stack">
        <Field id="signin-email" label="E-mail">
          <input id="signin-email" type="email" autoComplete="email" required value={email} onInput={(e) => setEmail(inputValue(e))} />
        </Field>
        <Field id="signin-password" label="Password">
          <input id="signin-password" type="password" autoComplete="current-password" value={password} onInput={(e) => setPassword(inputValue(e))} />
        </Field>
        <FormError message={action.error} />
        <div class="row-actions">
          <button type="submit" disabled={action.busy}>
            {action.busy ? "Signing in…" : "Sign in"}
          </button>
          <button type="button" class="secondary" onClick={mailLink} disabled={action.busy}>
            E-mail me a sign-in link
          </button>
        </div>
      </form>
      <p>
        New here? <a href={href("/signup")}>Create an account</a> · <a href={href("/reset-password")}>Forgot your password?</a>
      </p>
      <details class="card">
        <summary>Sign in with a secret key or the admin token</summary>
        <KeySignIn />
      </details>
    </AccountPage>
  );
}

export function SignUpPage() {
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [sent, setSent] = useState<string | null>(null);
  const action = useAction();

  async function submit(event: Event) {
    event.preventDefault();
    const done = await action.run(async () => {
      checkNewPassword(password);
      return must(api.POST("/v1/auth/sign-up", { body: { email: email.trim(), password, name: name.trim() } }));
    });
    if (done) setSent(email.trim());
  }

  if (sent) {
    return (
      <AccountPage title="Check your mail">
        <Notice kind="success">
          We sent a link to <strong>{sent}</strong>. Open it to confirm your address and sign in; it works for 2 days.
        </Notice>
        <p class="muted">{OUTBOX_HINT}</p>
      </AccountPage>
    );
  }
  return (
    <AccountPage title="Create your Feelback account">
      <form onSubmit={submit} class="card stack" noValidate>
        <Field id="signup-name" label="Your name" help="Optional; your team sees it.">
          <input id="signup-name" autoComplete="name" maxLength={200} value={name} onInput={(e) => setName(inputValue(e))} aria-describedby="signup-name-help" />
        </Field>
        <Field id="signup-email" label="E-mail">
          <input id="signup-email" type="email" autoComplete="email" required value={email} onInput={(e) => setEmail(inputValue(e))} />
        </Field>
        <NewPassword id="signup-password" label="Password" help="At least 10 characters." value={password} onChange={setPassword} />
        <FormError message={action.error} />
        <div>
          <button type="submit" disabled={action.busy}>
            {action.busy ? "Creating…" : "Create account"}
          </button>
        </div>
      </form>
      <p>
        Already have an account? <a href={href("/signin")}>Sign in</a>
      </p>
    </AccountPage>
  );
}

/** A page a mail link opens: it posts the link's token and signs the person in. */
function TokenSignIn({ title, post }: { title: string; post: (token: string) => Promise<Me> }) {
  const token = queryParam("token");
  const [error, setError] = useState<string | null>(token ? null : "This link has no token. Open the link from the mail again.");
  useEffect(() => {
    if (!token) return;
    post(token).then(afterSignIn, (failure: Error) => setError(failure.message));
  }, [token]);
  return (
    <AccountPage title={title}>
      {error ? (
        <>
          <ErrorBox message={error} />
          <p>
            <a href={href("/signin")}>Go to sign-in</a>
          </p>
        </>
      ) : (
        <Loading what="your account" />
      )}
    </AccountPage>
  );
}

export function VerifyEmailPage() {
  return <TokenSignIn title="Confirming your address" post={(token) => must(api.POST("/v1/auth/verify-email", { body: { token } }))} />;
}

export function MagicLinkPage() {
  return <TokenSignIn title="Signing you in" post={(token) => must(api.POST("/v1/auth/magic-link/sign-in", { body: { token } }))} />;
}

export function ResetPasswordPage() {
  const token = queryParam("token");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [sent, setSent] = useState(false);
  const action = useAction();

  if (!token) {
    return (
      <AccountPage title="Reset your password">
        {sent ? (
          <Notice kind="success">If {email} has an account, a link to choose a new password is on its way. It works once, for an hour. {OUTBOX_HINT}</Notice>
        ) : (
          <form
            class="card stack"
            onSubmit={async (event) => {
              event.preventDefault();
              if (await action.run(() => must(api.POST("/v1/auth/password-reset", { body: { email: email.trim() } })))) setSent(true);
            }}
          >
            <Field id="reset-email" label="E-mail">
              <input id="reset-email" type="email" autoComplete="email" required value={email} onInput={(e) => setEmail(inputValue(e))} />
            </Field>
            <FormError message={action.error} />
            <div>
              <button type="submit" disabled={action.busy}>
                Send me a link
              </button>
            </div>
          </form>
        )}
      </AccountPage>
    );
  }
  return (
    <AccountPage title="Choose a new password">
      <form
        class="card stack"
        onSubmit={async (event) => {
          event.preventDefault();
          const person = await action.run(async () => {
            checkNewPassword(password);
            return must(api.POST("/v1/auth/password-reset/confirm", { body: { token, password } }));
          });
          if (person) afterSignIn(person);
        }}
      >
        <NewPassword id="reset-password" label="New password" help="At least 10 characters. Your other sessions end." value={password} onChange={setPassword} />
        <FormError message={action.error} />
        <div>
          <button type="submit" disabled={action.busy}>
            Save and sign in
          </button>
        </div>
      </form>
    </AccountPage>
  );
}

export function ConfirmEmailPage() {
  const token = queryParam("token") ?? "";
  const result = useResource(() => must(api.POST("/v1/auth/email-change/confirm", { body: { token } })), [token]);
  return (
    <AccountPage title="Confirming your new address">
      <Loaded resource={result} what="the confirmation">
        {(done) => <Notice kind="success">{done.message}</Notice>}
      </Loaded>
      <p>
        <a href={href("/projects")}>Go to your projects</a>
      </p>
    </AccountPage>
  );
}

export function InvitationPage() {
  const token = queryParam("token") ?? "";
  const person = useStore(me);
  const preview = useResource(() => must(api.POST("/v1/invitations/preview", { body: { token } })), [token]);
  const action = useAction();

  async function accept() {
    const organization = await action.run(() => must(api.POST("/v1/invitations/accept", { body: { token } })));
    if (organization) {
      localStorage.removeItem(PENDING_INVITATION);
      const refreshed = await must(api.GET("/v1/me"));
      signedInAs(refreshed);
      navigate(href("/projects"), true);
    }
  }

  return (
    <AccountPage title="Your invitation">
      <Loaded resource={preview} what="the invitation">
        {(invitation) =>
          invitation.status !== "open" ? (
            <ErrorBox message={`This invitation is ${invitation.status}. Ask whoever invited you for a new one.`} />
          ) : (
            <div class="card stack">
              <p>
                You are invited to <strong>{invitation.organization_name}</strong> as <strong>{invitation.role}</strong>.
              </p>
              {person ? (
                person.user.email === invitation.email ? (
                  <>
                    <FormError message={action.error} />
                    <button type="button" onClick={accept} disabled={action.busy}>
                      Join {invitation.organization_name}
                    </button>
                  </>
                ) : (
                  <Notice kind="warning">
                    The invitation is for {invitation.email}, but you are signed in as {person.user.email}. Sign out, then open the link again.
                  </Notice>
                )
              ) : (
                <>
                  <p>
                    Sign in as <strong>{invitation.email}</strong>, or create an account with that address; you come back here afterwards.
                  </p>
                  <p class="row-actions">
                    <a class="button" href={href("/signup")} onClick={() => localStorage.setItem(PENDING_INVITATION, token)}>
                      Create an account
                    </a>
                    <a class="button secondary" href={href("/signin")} onClick={() => localStorage.setItem(PENDING_INVITATION, token)}>
                      Sign in
                    </a>
                  </p>
                </>
              )}
            </div>
          )
        }
      </Loaded>
    </AccountPage>
  );
}
