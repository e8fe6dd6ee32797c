"""The report's "Additional analyses" (issue 12): optional parts beyond the reference study, run after it.

Each part is a plan sub-section (``additional.<key>`` in ``analysis/additional_plan.py``, with
``enabled``), a runner here in ``PARTS`` and a renderer in ``ipafstudy.reporting.additional``. A runner
gets the :class:`PartContext` and returns its frozen result (with ``to_dict()``), or None when the
data do not allow the part (it then adds a note saying why). Results land in
``StudyResults.additional`` (``results.json`` key ``additional``), keyed by the part's key, in the
order of ``PARTS``. Runners only read the analysis dataset, the cohort and the main results; they
never change what the reference tables print.

Adding a part (see /work/notes/slopes.md and docs/analysis.md):
1. a spec class in ``additional_plan.py`` and one field on ``AdditionalSpec``;
2. a module ``analysis/<part>.py`` with ``run(ctx) -> result | None``; register it in ``PARTS`` below;
3. a renderer in ``reporting/additional.py`` (``RENDERERS``) that turns the result into paragraphs,
   tables and figures.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ipafstudy.values import jsonable


@dataclass(frozen=True)
class PartContext:
    """What a part may read: the analysis dataset, plan, cohort (may be None in tests) and the main results."""

    data: pd.DataFrame
    plan: Any
    cohort: Any
    #: analysis.study._Notes of the additional parts only (shown in their section, so the reference study's
    #: "Analysis notes" stay as they were): .add(text), .call(context, fn, *args, **kwargs), .items
    notes: Any
    main: Mapping[str, Any] = field(default_factory=dict)  # e.g. {"paired": (...), "subgroup_response": (...)}


@dataclass(frozen=True)
class AdditionalResults:
    """Results of the additional parts that ran, keyed by part, in ``PARTS`` order."""

    parts: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def get(self, key: str) -> Any:
        return self.parts.get(key)

    def to_dict(self) -> dict[str, Any]:
        return {**{key: jsonable(value) for key, value in self.parts.items()}, "notes": list(self.notes)}


Runner = Callable[[PartContext], Any]


def _slopes(ctx: PartContext) -> Any:
    from ipafstudy.analysis import slopes

    return slopes.run(ctx)


def _power(ctx: PartContext) -> Any:
    from ipafstudy.analysis import power

    return power.run(ctx)


def _time_to_event(ctx: PartContext) -> Any:
    from ipafstudy.analysis import time_to_event

    return time_to_event.run(ctx)


def _incidence(ctx: PartContext) -> Any:
    from ipafstudy.analysis import incidence

    return incidence.run(ctx)


def _comparator(ctx: PartContext) -> Any:
    from ipafstudy.analysis import comparator

    return comparator.run(ctx)


#: (plan key under ``additional``, runner), in report order.
PARTS: tuple[tuple[str, Runner], ...] = (
    ("slopes", _slopes),
    ("power", _power),
    ("time_to_event", _time_to_event),
    ("incidence", _incidence),
    ("comparator", _comparator),
)


def run_additional(ctx: PartContext, progress: Callable[[str], None] | None = None) -> AdditionalResults:
    """Run every enabled part; a part the data do not allow leaves a note and no result."""
    step = progress or (lambda _name: None)
    out: dict[str, Any] = {}
    for key, runner in PARTS:
        spec = getattr(ctx.plan.additional, key, None)
        if spec is None or not spec.enabled:
            continue
        step(f"Additional analyses: {key}")
        result = runner(ctx)
        if result is not None:
            out[key] = result
    return AdditionalResults(parts=out, notes=tuple(getattr(ctx.notes, "items", ())))
