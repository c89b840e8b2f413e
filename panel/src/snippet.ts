// The one-line install snippet for a content set, as the SDK reads it (sdk/README.md).
export const ELEMENTS: Record<string, string> = {
  yesno: "feelback-yesno",
  updown: "feelback-updown",
  rating: "feelback-rating",
  like: "feelback-like",
  reaction: "feelback-reactions",
  message: "feelback-form",
};

export function scriptTag(origin: string, publicKey: string): string {
  return `<script src="${origin}/sdk/v1/feelback.js" data-key="${publicKey || "fb_pk_…"}" defer></script>`;
}

export function widgetTag(signalType: string, setKey: string): string {
  const element = ELEMENTS[signalType] ?? "feelback-yesno";
  return `<${element} set="${setKey}"></${element}>`;
}

const KEY_STORE = "feelback.publicKey.";

/** A public key shown once (at project or key creation), kept in this browser for the install snippet. */
export function rememberPublicKey(projectId: string, key: string): void {
  if (key.startsWith("fb_pk_")) localStorage.setItem(KEY_STORE + projectId, key);
}

export function rememberedPublicKey(projectId: string): string {
  return localStorage.getItem(KEY_STORE + projectId) ?? "";
}
