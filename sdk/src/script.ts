// The script-tag build: <script src="https://api.example.com/sdk/v1/feelback.js" data-key="fb_pk_..." defer>
// The API endpoint is the script's own origin and path prefix (or data-endpoint), so the SDK works
// from the API's origin or through a site's proxy alike.
import { configure, define } from "./elements";

const script = document.currentScript as HTMLScriptElement | null;
if (script) {
  const src = script.src;
  configure({ key: script.dataset.key, endpoint: script.dataset.endpoint || src.slice(0, src.lastIndexOf("/sdk/")) });
}
define();
