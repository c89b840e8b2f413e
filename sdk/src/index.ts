// The ES module build, for bundlers: importing it registers the elements in a browser (never on a
// server); call configure({key, endpoint}) once, or give each element key= and endpoint=.
import { define } from "./elements";

export { Client, backoff, statsUrl } from "./client";
export type { Kind, Listener, Options, SetConfig, Stats } from "./client";
export { clientFor, configure, define } from "./elements";

define();
