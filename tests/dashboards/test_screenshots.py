"""Each dashboard renders in headless Chromium with the project filter set; the screenshots are kept in
test-artifacts/ to look at by eye."""

from __future__ import annotations

import pytest

from dashboards.superset.assets import read_specs

DASHBOARDS = read_specs("dashboards")


def _permalink(api, slug: str, dashboard: str, project_id: str) -> str:
    """A link to the dashboard with the project filter set, through Superset's permalink API."""
    filter_id = f"NATIVE_FILTER-{dashboard}-project"
    state = {
        "dataMask": {
            filter_id: {
                "id": filter_id,
                "extraFormData": {"filters": [{"col": "project_id", "op": "IN", "val": [project_id]}]},
                "filterState": {"value": [project_id]},
                "ownState": {},
            }
        },
        "activeTabs": [],
        "urlParams": [],
    }
    response = api.post(f"/api/v1/dashboard/{slug}/permalink", json=state)
    assert response.status_code == 201, response.text
    return response.json()["url"]


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_dashboard_renders(superset, superset_api, browser, artifacts, warehouse_build, live_project, name):
    from feelback import dashboards

    spec = DASHBOARDS[name]
    # The operations questions cover the last two days of ingest: the live project has those.
    project_id = live_project if name == "operations" else warehouse_build.random_project_id
    url = _permalink(superset_api, spec["slug"], name, project_id)
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    try:
        page.goto(f"{superset.url}/login/")
        page.fill("input[name=username], #username", dashboards.ADMIN_USER)
        page.fill("input[name=password], #password", dashboards.admin_password(superset.settings))
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: "/login" not in url, timeout=60_000)
        page.goto(url)
        charts = sum(len(row) for row in spec["rows"])
        page.wait_for_function(
            f"document.querySelectorAll('.chart-container, .dashboard-chart').length >= {charts}", timeout=90_000
        )
        page.wait_for_load_state("networkidle", timeout=90_000)
        page.wait_for_function("document.querySelectorAll('.loading, [aria-label=loading]').length === 0", timeout=90_000)
        page.wait_for_timeout(1500)  # echarts animates its first frame
        page.screenshot(path=str(artifacts / f"superset-{name}.png"), full_page=True)
        errors = page.locator(".alert-danger, [data-test=error-message], .ant-alert-error").count()
        assert errors == 0, f"{name}: {errors} chart(s) show an error"
        assert page.get_by_text("No results were returned").count() == 0, f"{name}: a chart is empty"
        assert spec["title"] in page.content()
    finally:
        context.close()
