import { configure } from "../../../sdk/dist/v1/feelback.mjs";
import { createApp } from "./app.js";

configure(Object.fromEntries(new URLSearchParams(location.search)));
const root = document.getElementById("app");
createApp({ ...root.dataset }).mount(root);
