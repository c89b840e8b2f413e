"""The widgets as plain elements in React 19, Vue 3, Svelte 5 and Astro pages (tests/sdk_frameworks,
built by its build.mjs: server-rendered in Node, then hydrated in Chromium), against the real API:
the SDK's ES module imports on a server without touching `window`, each framework hydrates without
a mismatch, sets the attributes (and changes them at runtime), and gets the widgets' events."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import expect

from tests.fixtures.npm import npm_ci
from tests.sdk.support import DIST, REPO, WIDGETS

PROJECT = REPO / "tests" / "sdk_frameworks"
FRAMEWORKS = ["react", "vue", "svelte", "astro"]


@pytest.fixture(scope="session")
def framework_pages(sdk_built, tmp_path_factory) -> Path:
    """The four pages as a site's build makes them (``node build.mjs OUT``), once per session."""
    npm_ci(PROJECT)
    out = tmp_path_factory.mktemp("framework-pages")
    built = subprocess.run(["node", "build.mjs", str(out)], cwd=PROJECT, capture_output=True, text=True, timeout=180)
    assert built.returncode == 0, built.stdout + built.stderr
    return out


@pytest.fixture(scope="module")
def pages_url(sdk_stack, framework_pages) -> str:
    return sdk_stack.pages.mount("/frameworks/", framework_pages)


def test_the_module_build_imports_on_a_server_and_registers_nothing():
    """A server framework imports the module in Node: no `window`, `document` or `customElements`
    there; importing it, define() and configure() must neither fail nor leave globals behind."""
    script = f"""
        const before = new Set(Object.getOwnPropertyNames(globalThis));
        const sdk = await import({json.dumps((DIST / "feelback.mjs").as_uri())});
        sdk.define();
        sdk.configure({{ key: "fb_pk_test", endpoint: "https://feedback.example.com" }});
        const added = Object.getOwnPropertyNames(globalThis).filter((name) => !before.has(name));
        console.log(JSON.stringify({{ exports: Object.keys(sdk).sort(), added, window: typeof window }}));
    """
    ran = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert ran.stderr == ""
    assert json.loads(ran.stdout) == {
        "exports": ["Client", "backoff", "clientFor", "configure", "define", "statsUrl"],
        "added": [],
        "window": "undefined",
    }


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_widgets_in_a_server_rendered_framework_page(framework, pages_url, sdk_stack, page):
    first, second = f"/frameworks/{framework}/first", f"/frameworks/{framework}/second"
    url = f"{pages_url}{framework}/?" + urlencode({"key": sdk_stack.demo.public_key, "endpoint": sdk_stack.api})
    served = httpx.get(url, timeout=10).text  # rendered on the server: the elements and attributes, before any script
    for kind, content_set in WIDGETS.items():
        assert f'<feelback-{kind} set="{content_set}" content="{first}"></feelback-{kind}>' in served

    problems: list[str] = []  # hydration mismatches are errors or warnings in these development builds
    page.on("console", lambda message: problems.append(f"{message.type}: {message.text}") if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.goto(url)
    page.wait_for_function(f"document.querySelectorAll(':state(ready)').length === {len(WIDGETS)}", timeout=15_000)
    # the page's data-theme="dark" shows, and no widget added an attribute the framework did not render
    widgets = page.locator(", ".join(f"feelback-{kind}" for kind in WIDGETS))
    shown = widgets.evaluate_all("all => all.map((w) => [w.matches(':state(dark)'), w.getAttributeNames().sort().join()])")
    assert shown == [[True, "content,set"]] * len(WIDGETS)

    yes = page.locator("feelback-yesno").get_by_role("button", name="Yes")
    yes.click()
    expect(page.locator("#sent")).to_have_text(first)  # the framework's own handler got feelback:sent
    assert sdk_stack.wait_stats("demo-yesno", first, {"yes": 1})["counts"] == {"yes": 1}

    page.locator("#next").click()  # the framework sets another content key on every widget
    for kind in WIDGETS:
        expect(page.locator(f"feelback-{kind}")).to_have_attribute("content", second)
    expect(yes).to_have_attribute("aria-pressed", "false")  # the widget now shows the new content
    yes.click()
    expect(page.locator("#sent")).to_have_text(f"{first} {second}")
    assert sdk_stack.wait_stats("demo-yesno", second, {"yes": 1})["counts"] == {"yes": 1}
    assert sdk_stack.stats("demo-yesno", first)["total"] == 1
    if framework == "react":  # its `onfeelback:sent` prop, listened to once React rendered on the client
        expect(page.locator("#sent-by-prop")).to_contain_text(second)
    assert problems == []
