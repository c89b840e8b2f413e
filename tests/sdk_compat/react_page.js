// A page of @feelback/react widgets pointed at our compat API (bundled by esbuild for the test).
import { createElement as h } from "react";
import { createRoot } from "react-dom/client";
import {
  FeelbackProvider, FeelbackReaction, FeelbackTaggedMessage, FeelbackYesNo,
  PRESET_FEEDBACK, PRESET_GITHUB_EMOJI, PRESET_YESNO_LIKE_DISLIKE,
} from "@feelback/react";

const endpoint = document.body.dataset.endpoint;
createRoot(document.getElementById("root")).render(
  h(FeelbackProvider, { endpoint },
    h("div", { id: "yesno" }, h(FeelbackYesNo, { contentSetId: "thumbs", preset: PRESET_YESNO_LIKE_DISLIKE, showCount: true })),
    h("div", { id: "reactions" }, h(FeelbackReaction, { contentSetId: "github-set", preset: PRESET_GITHUB_EMOJI, showCount: true })),
    h("div", { id: "tagged" }, h(FeelbackTaggedMessage, { contentSetId: "feedback", layout: "inline", tags: PRESET_FEEDBACK, withEmail: true })),
  ),
);
