"""Clinical SETTINGS from shared/spec/clinical-rules.md, with their documented defaults.

Statistical conventions are keyword options of the functions in ``ipafstudy.stats`` and are
collected by the analysis plan; the clinical settings live here because rules, cohort and
reports all need the same values, and every report prints them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Literal

from ipafstudy.errors import InvalidOptionError, check_option

MissingFeatureMeaning = Literal["unknown", "absent"]
AntibodyPrecedence = Literal["msa", "exclude_overlap"]
ConsensusRule = Literal["mean_then_adjudicator", "adjudicator_else_reader1", "mean"]
FollowUpRule = Literal["latest_complete_visit", "latest_per_measure"]
RenalRule = Literal["kdigo", "none"]


def _setting(default: object, doc: str) -> object:
    """A dataclass field whose description travels with it into docs and reports ({drug}: the study drug)."""
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class ClinicalSettings:
    """Every clinical choice the study makes that the literature leaves open."""

    ro52_alone_counts_as_ssa: bool = _setting(
        False,
        "Isolated anti-Ro52 satisfies the serologic anti-Ro (SS-A) item.",
    )
    missing_feature_means: MissingFeatureMeaning = _setting(
        "unknown",
        "How a blank IPAF feature is read: 'unknown' (indeterminate) or 'absent'.",
    )
    antibody_group_precedence: AntibodyPrecedence = _setting(
        "msa",
        "Patients with both an MSA and an MAA: MSA group ('msa') or neither ('exclude_overlap').",
    )
    adjudication_grade_gap: int = _setting(
        1,
        "Flag a zone/pattern for a third reader when the two grades differ by MORE than this.",
    )
    adjudication_percent_gap: float = _setting(
        25.0,
        "Flag when both readers gave percentages that differ by this many points or more.",
    )
    consensus_rule: ConsensusRule = _setting(
        "mean_then_adjudicator",
        "How the final zone grade is formed from the reads.",
    )
    min_exposure_days: int = _setting(
        90,
        "Minimum {drug} exposure for eligibility.",
    )
    min_age: float = _setting(
        18.0,
        "Minimum age in years at {drug} start.",
    )
    baseline_window_days: int = _setting(
        90,
        "Baseline = closest value within [start - window, start].",
    )
    baseline_includes_start_day: bool = _setting(
        True,
        "Whether a value dated on the {drug} start day counts as baseline.",
    )
    follow_up_rule: FollowUpRule = _setting(
        "latest_complete_visit",
        "Last follow-up of the measurement outcomes: latest visit with all of them present, or each measure's "
        "latest (HRCT scores always use the latest usable scan).",
    )
    data_cutoff_date: dt.date | None = _setting(
        None,
        "Ongoing treatments end here; left empty (null in the plan), the latest date found in the records.",
    )
    hypomagnesemia_mmol_l: float = _setting(
        0.70,
        "Serum magnesium below this (mmol/L) is a lab-derived hypomagnesaemia event.",
    )
    renal_rule: RenalRule = _setting(
        "kdigo",
        "Lab-derived renal insufficiency: KDIGO acute kidney injury creatinine rule, or none.",
    )

    def __post_init__(self) -> None:
        check_option(
            "ClinicalSettings",
            "missing_feature_means",
            self.missing_feature_means,
            ("unknown", "absent"),
        )
        check_option(
            "ClinicalSettings",
            "antibody_group_precedence",
            self.antibody_group_precedence,
            ("msa", "exclude_overlap"),
        )
        check_option(
            "ClinicalSettings",
            "consensus_rule",
            self.consensus_rule,
            ("mean_then_adjudicator", "adjudicator_else_reader1", "mean"),
        )
        check_option(
            "ClinicalSettings",
            "follow_up_rule",
            self.follow_up_rule,
            ("latest_complete_visit", "latest_per_measure"),
        )
        check_option("ClinicalSettings", "renal_rule", self.renal_rule, ("kdigo", "none"))
        for name in ("adjudication_grade_gap", "min_exposure_days", "baseline_window_days"):
            if getattr(self, name) < 0:
                raise InvalidOptionError(
                    f"ClinicalSettings(): {name}={getattr(self, name)!r} must not be negative"
                )
        if not 0 <= self.adjudication_percent_gap <= 100:
            raise InvalidOptionError(
                "ClinicalSettings(): adjudication_percent_gap must lie between 0 and 100, "
                f"got {self.adjudication_percent_gap!r}"
            )

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        if self.data_cutoff_date is not None:
            out["data_cutoff_date"] = self.data_cutoff_date.isoformat()
        return out

    @classmethod
    def from_dict(cls, values: dict[str, object]) -> ClinicalSettings:
        """Build from a plan mapping; unknown keys are an error that lists the known ones."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidOptionError(
                f"unknown clinical setting(s) {unknown}; known settings are {sorted(known)}"
            )
        problems = [p for p in (setting_type_problem(k, v) for k, v in values.items()) if p]
        if problems:
            raise InvalidOptionError("; ".join(problems))
        vals = dict(values)
        cutoff = vals.get("data_cutoff_date")
        if isinstance(cutoff, str):
            vals["data_cutoff_date"] = dt.date.fromisoformat(cutoff)
        return replace(cls(), **vals)


def setting_type_problem(key: str, value: object, *, prefix: str = "clinical.") -> str | None:
    """Why ``value`` has the wrong type for setting ``key`` (None when it fits; unknown keys are not judged here).

    ClinicalSettings itself does not check types, so every reader of a settings file (plan, ``screen --settings``)
    goes through this one rule: ``min_age: "x"`` is a clear error, not a crash later.
    """
    defaults = {f.name: f.default for f in fields(ClinicalSettings)}
    if key not in defaults:
        return None
    default = defaults[key]
    if key == "data_cutoff_date":
        ok = value is None or isinstance(value, dt.date) or (isinstance(value, str) and _is_iso_date(value))
        expected = "a date YYYY-MM-DD or null"
    elif isinstance(default, bool):
        ok, expected = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, expected = isinstance(value, int) and not isinstance(value, bool), "a whole number"
    elif isinstance(default, float):
        ok, expected = isinstance(value, int | float) and not isinstance(value, bool), "a number"
    else:
        ok, expected = isinstance(value, str), "text"
    return None if ok else f"{prefix}{key} = {value!r} is not valid; expected {expected}"


def _is_iso_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def setting_doc(name: str, drug: str = "tacrolimus") -> str:
    """The description of setting ``name`` with the study drug's label in its ``{drug}`` place."""
    docs = {f.name: f.metadata.get("doc", "") for f in fields(ClinicalSettings)}
    return docs[name].format(drug=drug)


def describe_settings(drug: str = "tacrolimus") -> list[tuple[str, object, str]]:
    """(name, default, description) per setting: feeds docs, plan comments and reports."""
    default = ClinicalSettings()
    return [(f.name, getattr(default, f.name), setting_doc(f.name, drug)) for f in fields(default)]
