// Feelback's widgets as plain elements in Vue 3: a template compiled with
// `compilerOptions.isCustomElement`, attributes bound to state, the custom event by `@feelback:sent`.
import { createSSRApp } from "vue";
import "../../../sdk/dist/v1/feelback.mjs";

const App = {
  props: ["first", "second"],
  data: (vm) => ({ content: vm.first, sent: [] }),
  template: `<main>
    <h1>Vue</h1>
    <feelback-yesno set="demo-yesno" :content="content" @feelback:sent="sent.push($event.detail.content_key)"></feelback-yesno>
    <feelback-updown set="demo-updown" :content="content"></feelback-updown>
    <feelback-rating set="demo-rating" :content="content"></feelback-rating>
    <feelback-like set="demo-like" :content="content"></feelback-like>
    <feelback-reactions set="demo-reactions" :content="content"></feelback-reactions>
    <feelback-form set="demo-form" :content="content"></feelback-form>
    <button id="next" @click="content = second">Next page</button>
    <output id="sent">{{ sent.join(" ") }}</output>
  </main>`,
};

export function createApp(props) {
  const app = createSSRApp(App, props);
  app.config.compilerOptions.isCustomElement = (tag) => tag.startsWith("feelback-");
  return app;
}
