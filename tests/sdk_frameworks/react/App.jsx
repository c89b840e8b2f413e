// Feelback's widgets as plain elements in React 19: attributes from state; the custom event through
// a ref callback, since hydrateRoot does not attach React 19's `on<event>` props of custom elements
// (facebook/react#35446): `onfeelback:sent` is only listened to from the first client render on.
// The SDK import runs on the server too.
import { useCallback, useState } from "react";
import "../../../sdk/dist/v1/feelback.mjs";

export function App({ first, second }) {
  const [content, setContent] = useState(first);
  const [sent, setSent] = useState([]);
  const [sentByProp, setSentByProp] = useState([]);
  const listen = useCallback((widget) => {
    const record = (event) => setSent((keys) => [...keys, event.detail.content_key]);
    widget.addEventListener("feelback:sent", record);
    return () => widget.removeEventListener("feelback:sent", record);
  }, []);
  return (
    <main>
      <h1>React</h1>
      <feelback-yesno set="demo-yesno" content={content} ref={listen}
        onfeelback:sent={(event) => setSentByProp((keys) => [...keys, event.detail.content_key])} />
      <feelback-updown set="demo-updown" content={content} />
      <feelback-rating set="demo-rating" content={content} />
      <feelback-like set="demo-like" content={content} />
      <feelback-reactions set="demo-reactions" content={content} />
      <feelback-form set="demo-form" content={content} />
      <button id="next" onClick={() => setContent(second)}>Next page</button>
      <output id="sent">{sent.join(" ")}</output>
      <output id="sent-by-prop">{sentByProp.join(" ")}</output>
    </main>
  );
}
