import { render } from "preact";
import { App } from "./App";
import { installLinkHandling } from "./router";
import { followSystemTheme } from "./theme";
import "./styles.css";

followSystemTheme();
installLinkHandling();
render(<App />, document.getElementById("root")!);
