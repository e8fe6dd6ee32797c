"""Safety parts of the "Additional analyses" section: every cell and sentence is the formatted result."""

from __future__ import annotations

import types

import pytest
from tests.analysis.safety_bundled import bundled_cohort
from tests.analysis.test_safety_against_r import context

from ipafstudy.analysis import incidence, time_to_event
from ipafstudy.analysis.plan import AnalysisPlan
from ipafstudy.reporting.additional import RenderContext
from ipafstudy.reporting.format import fmt_number, get_style, print_style
from ipafstudy.reporting.safety import (
    INCIDENCE_TABLE_KEY,
    KM_FIGURE_KEY,
    KM_TABLE_KEY,
    NOT_REACHED,
    median_text,
    render_incidence,
    render_time_to_event,
)
from ipafstudy.stats.survival import kaplan_meier

RESULTS = types.SimpleNamespace(plan=AnalysisPlan())


@pytest.fixture(scope="module")
def parts():
    ctx = context(bundled_cohort())
    return time_to_event.run(ctx), incidence.run(ctx)


def render_ctx(fig_dir=None):
    st = get_style("default")
    return RenderContext(fig_dir, print_style(st), st, next_table=7, next_figure=4)


def test_median_text_words():
    st = get_style("default")
    assert median_text(kaplan_meier([1, 2], [0, 0]), st) == NOT_REACHED
    reached = kaplan_meier([1, 2, 2, 3, 4, 5], [0, 1, 0, 1, 1, 0])  # 4 (2, not reached)
    assert median_text(reached, st) == f"4.0 (2.0, {NOT_REACHED})"
    nejm = get_style("nejm")
    assert median_text(reached, nejm) == f"4.0 (2.0 to {NOT_REACHED})"


def test_time_to_event_block(parts, tmp_path):
    tte, _ = parts
    ctx = render_ctx(tmp_path)
    block = render_time_to_event(RESULTS, tte, ctx)
    (table,) = block.tables
    assert table.key == KM_TABLE_KEY and table.number == 7
    rows = {r.cells[0]: r.cells for r in table.rows}
    for r in tte.rows:
        cells = rows[r.label]
        assert cells[1:4] == (str(r.km.n), str(r.km.n_events), str(r.km.n - r.km.n_events))
        assert cells[4] == median_text(r.km, ctx.style)
    stop = tte.row("discontinuation").km
    assert rows[tte.row("discontinuation").label][4].startswith(fmt_number(stop.median, 1))
    (fig,) = block.figures
    assert fig.key == KM_FIGURE_KEY and fig.number == 4 and fig.png_path.exists() and fig.svg_path.exists()
    methods, result = block.paragraphs
    assert tte.data_cutoff_date.isoformat() in methods and "latest date in the records" in methods
    assert "Brookmeyer-Crowley" in methods and "cause-specific" in methods
    assert (f"{stop.n_events} of {stop.n} patients discontinued tacrolimus; the median time to discontinuation was "
            f"{fmt_number(stop.median, 1)} months (95% CI {fmt_number(stop.median_lower, 1)}, "
            f"{fmt_number(stop.median_upper, 1)}).") in result
    assert block.data_tables[0].key == KM_TABLE_KEY


def test_incidence_block(parts):
    _, inc = parts
    block = render_incidence(RESULTS, inc, render_ctx())
    (table,) = block.tables
    assert table.key == INCIDENCE_TABLE_KEY
    first = table.rows[0].cells
    any_row = inc.rows[0]
    assert first[0] == "Any adverse event" and first[2] == str(any_row.episodes)
    assert first[4].startswith(fmt_number(any_row.rate.rate, 1))
    assert fmt_number(any_row.rate.upper, 1) in first[4]
    assert len(table.rows) == len(inc.rows)
    methods = block.paragraphs[0]
    assert fmt_number(inc.patient_years, 1) in methods and "Garwood" in methods and "365.25" in methods
    assert f"{any_row.episodes} adverse-event episodes occurred in {any_row.patients.n}" in block.paragraphs[1]
