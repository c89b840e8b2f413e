// The panel's only way to the API: openapi-fetch typed by the schema the build dumps from the app.
import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";
import { credential, me, signOutLocally } from "../auth";

const authorize: Middleware = {
  onRequest({ request }) {
    const token = credential.value?.token;
    if (token && !request.headers.has("Authorization")) request.headers.set("Authorization", `Bearer ${token}`);
    const csrf = readCookie("feelback_csrf");
    if (csrf && request.method !== "GET") request.headers.set("X-CSRF-Token", csrf);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401 && (credential.value || me.value)) signOutLocally("Your sign-in has ended. Please sign in again.");
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: typeof location === "undefined" ? "" : location.origin, credentials: "same-origin" });
api.use(authorize);

export function readCookie(name: string): string | null {
  if (typeof document === "undefined") return null;
  const found = document.cookie.split("; ").find((part) => part.startsWith(`${name}=`));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : null;
}
