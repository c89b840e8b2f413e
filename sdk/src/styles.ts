// One constructable stylesheet shared by every widget (adoptedStyleSheets: allowed by a strict
// Content-Security-Policy, which blocks <style> and style attributes without 'unsafe-inline').
// Theme with the --feelback-* custom properties, or ::part(button|count|label|form|undo).

const theme = (fg: string, bg: string, muted: string, border: string, accent: string, on: string) =>
  `--fb-fg:var(--feelback-fg,${fg});--fb-bg:var(--feelback-bg,${bg});--fb-muted:var(--feelback-muted,${muted});--fb-border:var(--feelback-border,${border});--fb-accent:var(--feelback-accent,${accent});--fb-on:var(--feelback-on-accent,${on})`;
const light = theme("#1f2328", "#fff", "#57606a", "#8c959f", "#0a58ca", "#fff");
const dark = theme("#e6edf3", "#0d1117", "#9ea7b3", "#6e7681", "#4493f8", "#0d1117");
const field = "font:inherit;color:var(--fb-fg);background:var(--fb-bg);border:1px solid var(--fb-border);border-radius:var(--feelback-radius,6px)";

export const CSS =
  `:host{${light};display:inline-block;color:var(--fb-fg);font:var(--feelback-font,15px/1.4 system-ui,sans-serif)}` +
  `@media(prefers-color-scheme:dark){:host{${dark}}}:host(:state(dark)){${dark}}:host(:state(light)){${light}}` +
  `[hidden]{display:none!important}` +
  `.row,fieldset{display:flex;flex-wrap:wrap;gap:.5em;align-items:center;border:0;margin:0;padding:0}legend{float:left;margin-right:.5em}` +
  `button{${field};padding:.3em .7em;cursor:pointer;display:inline-flex;gap:.4em;align-items:center}` +
  `button[aria-pressed=true]{background:var(--fb-accent);color:var(--fb-on);border-color:var(--fb-accent)}` +
  `button:disabled,input:disabled+span{cursor:default;opacity:.65}` +
  `:focus-visible,input:focus-visible+span{outline:2px solid var(--fb-accent);outline-offset:2px}` +
  `.count{font-variant-numeric:tabular-nums;color:inherit}.muted{color:var(--fb-muted)}` +
  `[role=group] [aria-hidden]{font-family:"Apple Color Emoji","Segoe UI Emoji","Noto Color Emoji",sans-serif}` +
  `.star{position:relative;cursor:pointer}.star input{position:absolute;opacity:0;width:1px;height:1px}` +
  `.star span{font-size:1.5em;color:var(--fb-muted);border-radius:4px}.star.on span{color:var(--fb-accent)}` +
  `.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}` +
  `form{display:grid;gap:.6em;min-width:16em}label{display:grid;gap:.2em}textarea,input,select{${field};padding:.4em}`;

let sheet: CSSStyleSheet | undefined;

export function styleSheet(): CSSStyleSheet {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
  }
  return sheet;
}
