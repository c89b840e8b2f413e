"""The analysts' dashboards run on the built marts and agree with the facts they summarize."""

from pathlib import Path

import pytest

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"


def run(ch, name: str, **parameters):
    return ch.query((DASHBOARDS / name).read_text(), parameters=parameters)


@pytest.fixture()
def project_id(warehouse_build):
    return warehouse_build.random_project_id


def live_signals(ch, project_id: str) -> int:
    return ch.command("SELECT count() FROM analytics.fct_signals WHERE project_id = {p:String}", parameters={"p": project_id})


def test_every_dashboard_runs(ch, project_id):
    for path in sorted(DASHBOARDS.glob("*.sql")):
        run(ch, path.name, project_id=project_id, min_signals=1)


def test_weekly_and_rolling_views_count_every_live_signal(ch, project_id):
    total = live_signals(ch, project_id)
    assert total > 0
    weekly = run(ch, "weekly_sentiment_by_content_set.sql", project_id=project_id)
    assert sum(weekly.result_columns[weekly.column_names.index("signals")]) == total
    ranked = run(ch, "top_and_bottom_contents_30d.sql", project_id=project_id, min_signals=1)
    assert sum(ranked.result_columns[ranked.column_names.index("signals")]) == total
    scores = [s for s in ranked.result_columns[ranked.column_names.index("sentiment_score")] if s is not None]
    assert scores == sorted(scores, reverse=True)


def test_rating_shares_add_up_per_content_set(ch, project_id):
    result = run(ch, "rating_distribution.sql", project_id=project_id)
    shares: dict[str, float] = {}
    for row in result.named_results():
        assert 1 <= row["rating"] <= row["rating_scale"]
        shares[row["content_set"]] = shares.get(row["content_set"], 0) + row["share"]
    assert shares and all(abs(total - 1) < 0.01 for total in shares.values())


def test_biggest_movers_compare_the_last_7_days_with_the_last_30(ch, project_id):
    """The shared build's random project has signals in every 7-day window the watermark can give and
    older ones only in the 30-day window (tests/fixtures/warehouse_build.py), so its movers move."""
    movers = list(run(ch, "biggest_movers.sql", project_id=project_id).named_results())
    assert movers
    assert all(row["signals_7d"] > 0 for row in movers)
    assert any(row["change"] != 0 for row in movers)
