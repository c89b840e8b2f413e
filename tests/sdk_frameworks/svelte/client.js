import { hydrate } from "svelte";
import { configure } from "../../../sdk/dist/v1/feelback.mjs";
import App from "./App.svelte";

configure(Object.fromEntries(new URLSearchParams(location.search)));
const target = document.getElementById("app");
hydrate(App, { target, props: { ...target.dataset } });
