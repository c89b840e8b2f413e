import { hydrateRoot } from "react-dom/client";
import { configure } from "../../../sdk/dist/v1/feelback.mjs";
import { App } from "./App.jsx";

configure(Object.fromEntries(new URLSearchParams(location.search)));
hydrateRoot(document.getElementById("app"), <App {...document.getElementById("app").dataset} />);
