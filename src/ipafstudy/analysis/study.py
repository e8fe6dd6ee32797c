"""Run the analysis plan: one code path per table, every statistic computed once.

``run_study`` builds the cohort, flattens it into the analysis dataset (one row per analysed
patient, written to ``analysis_dataset.csv``), and ``analyse_dataset`` computes every table
from that dataset alone with ``ipafstudy.stats``. Tables, figures and text then only read the
returned ``StudyResults``; nothing downstream computes a number.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Callable, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import pandas as pd

from ipafstudy import stats
from ipafstudy.analysis.additional import PartContext, run_additional
from ipafstudy.analysis.ae_detail import grade_and_outcome
from ipafstudy.analysis.dataset import (
    HRCT_PATTERN_LEVELS,
    as_indicator,
    exclusions_frame,
    flow_steps,
    subgroup_levels,
)
from ipafstudy.analysis.plan import (
    SUBGROUP_INDICATOR_COLUMNS,
    SUBGROUP_INDICATOR_PREFIXES,
    AnalysisPlan,
    SubgroupSpec,
    variable_label,
)
from ipafstudy.analysis.plancheck import PlanProblem, PlanProblemsError, StudyData, data_problems
from ipafstudy.analysis.results import (
    AdverseEventRow,
    BoxPlotPanel,
    Continuous,
    Count,
    GroupComparisonRow,
    LandmarkOutcome,
    MissingDataRow,
    PairedOutcome,
    StudyResults,
    SubgroupResponseRow,
)
from ipafstudy.analysis.table1 import baseline_table
from ipafstudy.cohort.timepoints import timepoint_rules
from ipafstudy.data.schema import PATIENTS
from ipafstudy.errors import InsufficientDataError, InvalidOptionError, StatisticalWarning

Progress = Callable[[str], None]

LIBRARIES = ("numpy", "scipy", "pandas", "statsmodels", "matplotlib", "python-docx", "openpyxl", "pydantic")


def library_versions() -> dict[str, str]:
    """Versions of ipafstudy and the libraries whose numbers or files appear in the outputs."""
    out = {}
    for name in ("ipafstudy", *LIBRARIES):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


class _Notes:
    """Collects warnings raised by the stats engine, once each, in the order met (deterministic)."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, text: str) -> None:
        if text not in self.items:
            self.items.append(text)

    def call(self, context: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a stats function; insufficient data gives None plus a note, warnings become notes."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = fn(*args, **kwargs)
            except InsufficientDataError as exc:
                self.add(f"{context}: not computed ({exc})")
                result = None
        for w in caught:
            if issubclass(w.category, StatisticalWarning | RuntimeWarning | UserWarning):
                self.add(f"{context}: {w.message}")
        return result


def _values(frame: pd.DataFrame, column: str) -> pd.Series:
    """Numeric column indexed by patient id (pairing is always by patient id, never by row order)."""
    s = pd.to_numeric(frame[column], errors="raise").astype(float)
    s.index = frame["patient_id"].astype(str)
    return s


def _count(series: pd.Series) -> Count:
    known = series.dropna()
    return Count(n=int((known.astype(float) == 1).sum()), denominator=int(known.size),
                 n_missing=int(series.size - known.size))


def _continuous(notes: _Notes, context: str, series: pd.Series, plan: AnalysisPlan) -> Continuous | None:
    q = notes.call(context, stats.quantiles, series, method=plan.statistics.quantile_method)
    d = notes.call(context, stats.describe_continuous, series)
    if q is None and d is None:
        return None
    return Continuous(quantiles=q, describe=d, shown=plan.statistics.continuous_summary)


def paired_outcome(
    data: pd.DataFrame, code: str, plan: AnalysisPlan, notes: _Notes, *, group: str | None = None,
    month: int | None = None,
) -> PairedOutcome | None:
    """Baseline vs last follow-up (or the ``month`` landmark) on the patients with both values (paired by id)."""
    spec = plan.outcome(code)
    where = f"{spec.label}" + (f" at {month} months" if month else "") + (
        f" ({plan.subgroup.label(group)})" if group else "")
    before_all = _values(data, f"{code}_baseline")
    after_all = _values(data, f"{code}_m{month}" if month else f"{code}_follow_up")
    complete = before_all.notna() & after_all.notna()
    before, after = before_all[complete], after_all[complete]
    st = plan.statistics
    if complete.sum() == 0:
        notes.add(f"{where}: no patient has both a baseline and a follow-up value")
        return None
    wil = notes.call(
        f"{where} Wilcoxon", stats.wilcoxon_signed_rank, before, after,
        zero_method=st.zero_method, continuity=st.continuity, method=st.wilcoxon_method,
        effect_size_n=st.effect_size_n, tie_decimals=st.tie_decimals,
    )
    change = notes.call(
        f"{where} median change", stats.median_change, before, after,
        n_resamples=st.bootstrap_resamples, seed=st.seed, ci_method=st.bootstrap_ci_method, confidence=st.confidence,
    )
    diff = after - before
    q = {
        name: notes.call(f"{where} {name} quartiles", stats.quantiles, values, method=st.quantile_method)
        for name, values in (("baseline", before), ("follow_up", after), ("change", diff))
    }
    normality = {
        name: notes.call(f"{where} Shapiro-Wilk {name}", stats.shapiro_wilk, values)
        for name, values in (("baseline", before), ("follow_up", after), ("difference", diff))
    }
    describe = {name: notes.call(f"{where} {name} mean and SD", stats.describe_continuous, values)
                for name, values in (("baseline", before), ("follow_up", after))}
    return PairedOutcome(
        code=code, label=spec.label, unit=spec.unit, group=group,
        n_patients=len(data), n_pairs=int(complete.sum()),
        baseline=q["baseline"], follow_up=q["follow_up"], change=q["change"],
        median_change=change, wilcoxon=wil, normality=normality,
        baseline_describe=describe["baseline"], follow_up_describe=describe["follow_up"], better=spec.better,
    )


def landmark_paired(data: pd.DataFrame, plan: AnalysisPlan, notes: _Notes) -> tuple[LandmarkOutcome, ...]:
    """Table 2 under landmarks: each outcome at each landmark, its p Holm-adjusted across its landmarks.

    Landmarks where the test could not be run do not count towards the number of tests (as R's p.adjust with NA).
    """
    out: list[LandmarkOutcome] = []
    for code in plan.outcome_codes:
        found = [(m, paired_outcome(data, code, plan, notes, month=m)) for m in plan.landmarks]
        raw = [None if p is None or p.wilcoxon is None else float(p.wilcoxon.p) for _, p in found]
        holm = stats.adjust_p(raw, method="holm") if any(v is not None for v in raw) else [None] * len(raw)
        out += [LandmarkOutcome(m, p, None if r is None else float(h))
                for (m, p), r, h in zip(found, raw, holm, strict=True) if p is not None]
    return tuple(out)


def landmark_notes(cohort: Any, plan: AnalysisPlan) -> list[str]:
    """A note per landmark where some outcomes have no value among the analysed patients (their Table 2 rows are
    empty). A landmark with no value of any outcome is a plan problem (``plancheck._landmarks_have_data``)."""
    if not plan.landmarks or not len(cohort.values):
        return []
    window = plan.timepoints.follow_up.window_days
    notes = []
    for m in plan.landmarks:
        have = set(cohort.values.loc[cohort.values["timepoint"] == f"m{m}", "outcome"].astype(str))
        lacking = [plan.outcome(c).label for c in plan.outcome_codes if c not in have]
        if have and lacking:
            notes.append(f"Landmark {m} months: no analysed patient has a value of {', '.join(lacking)} within "
                         f"{window} days on treatment; those rows are empty")
    return notes


def _box_panel(
    data: pd.DataFrame, code: str, plan: AnalysisPlan, paired: PairedOutcome | None, notes: _Notes
) -> BoxPlotPanel:
    """Figure 2 panel: the Table 2 pairs, with box and whiskers computed by the table's quartile method."""
    before = _values(data, f"{code}_baseline")
    after = _values(data, f"{code}_follow_up")
    keep = before.notna() & after.notna()
    p = None if paired is None or paired.wilcoxon is None else float(paired.wilcoxon.p)
    spec = plan.outcome(code)
    boxes = [
        notes.call(f"Figure 2 {spec.label}", stats.boxplot_stats, v[keep], method=plan.statistics.quantile_method,
                   whisker=plan.figures.whiskers) if keep.any() else None
        for v in (before, after)
    ]
    return BoxPlotPanel(
        code=code, label=spec.label, unit=spec.unit,
        patient_ids=tuple(before.index[keep]), before=tuple(before[keep]), after=tuple(after[keep]), p=p,
        before_box=boxes[0], after_box=boxes[1],
    )


def correlation_matrix(data: pd.DataFrame, plan: AnalysisPlan, notes: _Notes) -> tuple[Any, tuple[str, ...]]:
    """Figure 3: Spearman matrix of the changes, pairwise complete, raw p (+ adjusted p alongside)."""
    labels = tuple(plan.outcome(c).label for c in plan.correlation.outcomes)
    frame = pd.DataFrame(
        {label: _values(data, f"{c}_change") for c, label in zip(plan.correlation.outcomes, labels, strict=True)}
    )
    adjust = None if plan.correlation.adjust == "none" else plan.correlation.adjust
    return notes.call("Spearman matrix of changes", stats.spearman_matrix, frame, adjust=adjust,
                      tie_decimals=plan.statistics.tie_decimals), labels


def regression(data: pd.DataFrame, plan: AnalysisPlan, notes: _Notes) -> tuple[Any, dict[str, str]]:
    """Table 3: OLS of the planned outcome on the planned predictors (listwise complete cases)."""
    cols = [plan.regression.outcome, *plan.regression.predictors]
    frame = pd.DataFrame({c: _values(data, c) for c in cols})
    labels = {c: variable_label(c, plan) for c in cols}
    result = notes.call(
        "Regression", stats.linear_regression, frame, plan.regression.outcome, list(plan.regression.predictors),
        robust_se=plan.regression.robust_se,
    )
    return result, labels


#: Default order of antibody_group levels when the plan lists no groups (the rules' own order).
_ANTIBODY_GROUP_ORDER = ("MSA", "MAA", "neither", "overlap_excluded")


def _is_indicator(variable: str) -> bool:
    return variable in SUBGROUP_INDICATOR_COLUMNS or variable.startswith(SUBGROUP_INDICATOR_PREFIXES)


def _default_order(variable: str, observed: set[str]) -> list[str]:
    """Observed levels in the documented order: 0/1 as 1 then 0; the data dictionary's order; else A-Z."""
    if _is_indicator(variable):
        first: tuple[str, ...] = ("1", "0")
    elif variable == "antibody_group":
        first = _ANTIBODY_GROUP_ORDER
    elif variable in PATIENTS.column_names and PATIENTS.column(variable).allowed:
        first = PATIENTS.column(variable).allowed or ()
    else:
        first = ()
    return [g for g in first if g in observed] + sorted(observed - set(first))


def _default_label(variable: str, group: str) -> str:
    if _is_indicator(variable):
        return {"1": "Yes", "0": "No"}.get(group, group)
    if variable == "hrct_pattern":
        return dict(HRCT_PATTERN_LEVELS).get(group, group)
    return group


def _subgroup_groups(data: pd.DataFrame, spec: SubgroupSpec) -> tuple[pd.Series, list[str]]:
    levels = subgroup_levels(data, spec.variable)
    observed = set(levels.dropna())
    return levels, list(spec.groups) if spec.groups is not None else _default_order(spec.variable, observed)


def subgroup_problems(data: pd.DataFrame, plan: AnalysisPlan) -> list[tuple[str, str]]:
    """(plan key, message) for a subgroup the analysis dataset cannot give: the one rule of ``plan --check --data``
    (``plancheck``'s data check) and of ``analyse_dataset``.

    The column must exist. A subgroup the plan names needs at least two of its groups among the analysed patients
    ("a subgroup with one level"); the default plan's implicit MSA vs MAA is not judged, so a small cohort without
    both antibody groups still runs (its Tables 4 and 5 say "not computed").
    """
    spec = plan.subgroup
    if spec.variable not in data.columns:
        return [("subgroup.variable", f"{spec.variable!r} is not a column of the analysis dataset (these records do "
                                      "not give it); pick another patient-level categorical column")]
    if "subgroup" not in plan.model_fields_set:
        return []
    levels, groups = _subgroup_groups(data, spec)
    present = [g for g in groups if g in set(levels.dropna())]
    if len(present) >= 2:
        return []
    among = f" among the plan's groups {list(spec.groups)}" if spec.groups is not None else ""
    shown = f" ({', '.join(map(repr, present))})" if present else ""
    seen = ", ".join(f"{g} (n = {int((levels == g).sum())})" for g in _default_order(spec.variable,
                                                                                       set(levels.dropna())))
    return [("subgroup.variable", f"the {len(data)} analysed patients have {len(present)} "
             f"level{'' if len(present) == 1 else 's'}{shown} of {spec.variable!r}{among}; a subgroup comparison "
             f"needs at least two (levels seen: {seen or 'none'})")]


def resolve_subgroup(data: pd.DataFrame, plan: AnalysisPlan) -> SubgroupSpec:
    """The plan's subgroup with its groups and every label filled in from the data.

    Groups: the plan's, else every observed level in the order of ``_default_order``. A ``subgroup_problems``
    problem raises ``PlanProblemsError`` naming the plan key.
    """
    problems = subgroup_problems(data, plan)
    if problems:
        raise PlanProblemsError([PlanProblem(key, message) for key, message in problems])
    spec = plan.subgroup
    _, groups = _subgroup_groups(data, spec)
    labels = {g: spec.labels.get(g, _default_label(spec.variable, g)) for g in groups}
    return SubgroupSpec(variable=spec.variable, groups=tuple(groups), labels=labels)


def _groups(plan: AnalysisPlan) -> tuple[str, ...]:
    groups = plan.subgroup.groups
    if groups is None:  # analyse_dataset resolves the groups first; a caller that did not gets a clear error
        raise InvalidOptionError("subgroup.groups: not resolved; call resolve_subgroup(data, plan) first")
    return groups


def _in_group(data: pd.DataFrame, plan: AnalysisPlan, group: str) -> pd.DataFrame:
    return data[subgroup_levels(data, plan.subgroup.variable).eq(group).to_numpy()]


def _mann_whitney(notes: _Notes, context: str, x: pd.Series, y: pd.Series, plan: AnalysisPlan) -> Any:
    return notes.call(
        context, stats.mann_whitney, x.dropna(), y.dropna(),
        method=plan.statistics.mann_whitney_method, continuity=plan.statistics.mann_whitney_continuity,
        tie_decimals=plan.statistics.tie_decimals,
    )


def _compare_continuous(notes: _Notes, context: str, values: Mapping[str, pd.Series],
                        plan: AnalysisPlan) -> tuple[str | None, Any, Any]:
    """(test name, overall test, pairwise): Mann-Whitney for two groups; Kruskal-Wallis + pairwise for more."""
    st = plan.statistics
    if len(values) == 2:
        x, y = values.values()
        test = _mann_whitney(notes, context, x, y, plan)
        return ("Mann-Whitney U" if test else None), test, None
    samples = {g: v.dropna() for g, v in values.items()}
    test = notes.call(context, stats.kruskal_wallis, samples, tie_decimals=st.tie_decimals)
    pairwise = notes.call(f"{context} pairwise", stats.pairwise_mann_whitney, samples, adjust="holm",
                          method=st.mann_whitney_method, continuity=st.mann_whitney_continuity,
                          tie_decimals=st.tie_decimals) if test is not None else None
    return ("Kruskal-Wallis H" if test else None), test, pairwise


def _compare_table(notes: _Notes, context: str, table: pd.DataFrame) -> tuple[Any, Any]:
    """Overall test of a groups x categories table (r x c), plus Holm-adjusted pairwise tests for 3+ groups."""
    test = notes.call(context, stats.compare_categorical, table.to_numpy())
    if test is None or len(table) < 3:
        return test, None
    return test, notes.call(f"{context} pairwise", stats.pairwise_categorical, table, adjust="holm")


def subgroup_baseline(data: pd.DataFrame, plan: AnalysisPlan, notes: _Notes) -> tuple[GroupComparisonRow, ...]:
    """Table 4: the subgroups at baseline; Mann-Whitney / Kruskal-Wallis or chi-square/Fisher, named per row."""
    groups = _groups(plan)
    parts = {g: _in_group(data, plan, g) for g in groups}
    q_method = plan.statistics.quantile_method
    rows: list[GroupComparisonRow] = []

    def continuous(key: str, column: str, label: str) -> None:
        values = {g: _values(parts[g], column) for g in groups}
        summaries = {g: notes.call(f"Table 4 {label} {g}", stats.quantiles, v, method=q_method)
                     for g, v in values.items()}
        describe = {g: notes.call(f"Table 4 {label} {g} mean and SD", stats.describe_continuous, v)
                    for g, v in values.items()}
        name, test, pairwise = _compare_continuous(notes, f"Table 4 {label}", values, plan)
        rows.append(GroupComparisonRow(key, label, "continuous", summaries, name, test, describe=describe,
                                       pairwise=pairwise))

    def binary(key: str, column: str, label: str) -> None:
        counts = {g: _count(parts[g][column]) for g in groups}
        table = pd.DataFrame([[c.n, c.denominator - c.n] for c in counts.values()], index=list(groups), dtype=int)
        test, pairwise = _compare_table(notes, f"Table 4 {label}", table)
        rows.append(GroupComparisonRow(key, label, "categorical", counts, getattr(test, "test", None), test,
                                       pairwise=pairwise))

    if "age_at_start" in data.columns:
        continuous("age", "age_at_start", "Age, years")
    if "sex_male" in data.columns:
        binary("male", "sex_male", "Male")
    if "ever_smoker" in data.columns:
        binary("smoking", "ever_smoker", "Smoking history")
    for o in plan.outcomes:
        label = o.label + (f", {o.unit}" if o.unit else "")
        continuous(f"{o.code}_baseline", f"{o.code}_baseline", label)
        if o.code == "mmrc":
            rows.extend(_mmrc_levels(parts, plan, notes))
    return tuple(rows)


def _mmrc_levels(parts: Mapping[str, pd.DataFrame], plan: AnalysisPlan, notes: _Notes) -> list[GroupComparisonRow]:
    """mMRC grade distribution per group: one test of the grade-by-group table, then a row per grade."""
    grades = range(5)
    counts: dict[str, dict[int, Count]] = {}
    for g, part in parts.items():
        v = _values(part, "mmrc_baseline").dropna()
        counts[g] = {k: Count(n=int((v == k).sum()), denominator=int(v.size)) for k in grades}
    table = pd.DataFrame([[counts[g][k].n for k in grades] for g in parts], index=list(parts), dtype=int)
    table = table.loc[:, table.sum(axis=0).to_numpy() > 0]
    test = pairwise = None
    if table.shape[1] >= 2:
        test, pairwise = _compare_table(notes, "Table 4 mMRC grade distribution", table)
    rows = [
        GroupComparisonRow("mmrc_grades", "mMRC grade distribution", "distribution",
                           {g: Count(n=counts[g][0].denominator, denominator=counts[g][0].denominator) for g in parts},
                           getattr(test, "test", None), test, pairwise=pairwise),
    ]
    rows += [
        GroupComparisonRow(f"mmrc_grade_{k}", f"Grade {k}", "level", {g: counts[g][k] for g in parts}, None, None)
        for k in grades
    ]
    return rows


def subgroup_response(data: pd.DataFrame, plan: AnalysisPlan, notes: _Notes) -> tuple[SubgroupResponseRow, ...]:
    """Table 5: within-group Wilcoxon per group, and the changes compared between the groups (MW / KW)."""
    groups = _groups(plan)
    parts = {g: _in_group(data, plan, g) for g in groups}
    rows = []
    for o in plan.outcomes:
        within = {g: paired_outcome(parts[g], o.code, plan, notes, group=g) if len(parts[g]) else None
                  for g in groups}
        changes = {g: _values(parts[g], f"{o.code}_change") for g in groups}
        _, between, pairwise = _compare_continuous(notes, f"Table 5 {o.label} change between groups", changes, plan)
        rows.append(SubgroupResponseRow(code=o.code, label=o.label, unit=o.unit, within=within, between=between,
                                        pairwise=pairwise))
    return tuple(rows)


_OPTION_CLAUSE = re.compile(r"\s*\([^()]*=[^()]*\)")
_WINDOW = re.compile(r"after \d{4}-\d{2}-\d{2} up to (?:\d{4}-\d{2}-\d{2}|the data cut-off)")
_DATES = re.compile(r"\s*\d{4}-\d{2}-\d{2}(?: to \d{4}-\d{2}-\d{2})?")


def missing_reason_words(reason: str, labels: Mapping[str, str]) -> str:
    """A per-patient miss reason as a reader-facing category: no dates, no option names, outcome labels.

    Why: Table S3 counts patients per reason, so the patient's own dates must go (each patient would be
    a row of its own), and option names belong only in the settings appendix. ``explain`` keeps the
    full per-patient reason.

    >>> missing_reason_words("no mmrc value in the baseline window 2024-01-01 to 2024-03-31 "
    ...                      "(baseline_window_days=90, start day included)", {"mmrc": "mMRC"})
    'no mMRC value in the baseline window'
    """
    words = _OPTION_CLAUSE.sub("", reason.split("; nearest")[0])  # nearest earlier value / nearest value
    words = _DATES.sub("", _WINDOW.sub("during treatment", words)).replace(" (during treatment)", "")
    for code in sorted(labels, key=len, reverse=True):
        words = re.sub(rf"\b{re.escape(code)}\b", labels[code], words)
    return words.strip()


def missing_data(data: pd.DataFrame, exclusions: pd.DataFrame, plan: AnalysisPlan) -> tuple[MissingDataRow, ...]:
    """Per outcome and timepoint: analysed patients, values available, and the reasons the others lack one."""
    rows = []
    labels = {x.code: x.label for x in plan.outcomes}
    timepoints = ("baseline", *(f"m{m}" for m in plan.landmarks)) if plan.landmarks else ("baseline", "follow_up")
    for o in plan.outcomes:
        for tp in timepoints:
            values = data[f"{o.code}_{tp}"]
            missing_ids = set(data.loc[values.isna(), "patient_id"].astype(str))
            ex = exclusions[(exclusions["outcome"] == o.code) & (exclusions["timepoint"] == tp)]
            ex = ex[ex["patient_id"].astype(str).isin(missing_ids)]
            words = ex["reason"].map(lambda r, labels=labels: missing_reason_words(str(r), labels))
            reasons = words.groupby(words).size().sort_index().astype(int).to_dict() if len(ex) else {}
            unexplained = len(missing_ids - set(ex["patient_id"].astype(str)))
            if unexplained:
                reasons["no value recorded"] = reasons.get("no value recorded", 0) + unexplained
            rows.append(
                MissingDataRow(
                    outcome=o.code, label=o.label, timepoint=tp, n_analysed=len(data),
                    n_available=int(values.notna().sum()), reasons=dict(sorted(reasons.items())),
                )
            )
    return tuple(rows)


AE_LABELS = {
    "hypomagnesaemia": "Hypomagnesaemia",
    "infection": "Infection",
    "renal_insufficiency": "Renal insufficiency",
    "gastrointestinal_discomfort": "Gastrointestinal discomfort",
    "hypertension": "Hypertension",
    "hyperglycaemia": "Hyperglycaemia",
    "tremor": "Tremor",
    "other": "Other",
    "neutropenia": "Neutrophil count decreased",
    "alt_increased": "ALT increased",
}
AE_FLAGS = ("serious", "led_to_discontinuation", "led_to_dose_change")


def adverse_events(summary: pd.DataFrame | None, events: pd.DataFrame | None) -> tuple[AdverseEventRow, ...]:
    """The cohort's per-type summary (a patient counts once per type), plus patients with each flag set."""
    if summary is None or len(summary) == 0:
        return ()
    on = pd.DataFrame() if events is None or len(events) == 0 else events
    if len(on) and "during_treatment" in on.columns:
        on = on[on["during_treatment"].astype(bool)]
    rows = []
    for rec in summary.to_dict("records"):
        kind = str(rec["event"])
        sub = on[on["event"].astype(str) == kind] if len(on) else on
        extra: dict[str, Any] = {k: int(rec[k]) for k in ("n_recorded", "n_lab_derived") if k in rec}
        for flag in AE_FLAGS:
            if len(sub) and flag in sub.columns:
                yes = sub[as_indicator(sub[flag]).eq(1.0).to_numpy()]
                extra[flag] = int(yes["patient_id"].nunique())
            else:
                extra[flag] = 0
        extra.update(grade_and_outcome(sub))  # Table 6 max grade per patient and outcomes (issue 12)
        rows.append(
            AdverseEventRow(
                event=kind, label=AE_LABELS.get(kind, kind.replace("_", " ").capitalize()),
                patients=Count(n=int(rec["n_patients"]), denominator=int(rec["n_analysed"])),
                episodes=int(rec["n_events"]), extra=extra,
            )
        )
    return tuple(rows)


def analyse_dataset(
    data: pd.DataFrame,
    plan: AnalysisPlan,
    *,
    cohort: Any = None,
    sources: tuple[Any, ...] = (),
    agreement: pd.DataFrame | None = None,
    progress: Progress | None = None,
) -> StudyResults:
    """Every table from the analysis dataset (one row per analysed patient) and the cohort's side tables."""
    step = progress or (lambda _name: None)
    notes = _Notes()
    for warning in getattr(cohort, "exposure_warnings", ()):  # one per patient with a course lacking its route
        notes.add(warning)
    data = data.sort_values("patient_id", kind="mergesort").reset_index(drop=True)
    plan = plan.model_copy(update={"subgroup": resolve_subgroup(data, plan)})  # groups and labels as analysed
    step("Table 1")
    table1 = baseline_table(data, plan, notes)
    step("Table 2")
    paired = tuple(p for p in (paired_outcome(data, c, plan, notes) for c in plan.outcome_codes) if p is not None)
    by_code = {p.code: p for p in paired}
    landmarks = landmark_paired(data, plan, notes) if plan.landmarks else ()
    boxes = tuple(_box_panel(data, c, plan, by_code.get(c), notes) for c in plan.figures.box_plot_outcomes)
    step("Figure 3")
    corr, corr_labels = correlation_matrix(data, plan, notes)
    step("Table 3")
    reg, reg_labels = regression(data, plan, notes)
    step("Tables 4 and 5")
    t4 = subgroup_baseline(data, plan, notes)
    t5 = subgroup_response(data, plan, notes)
    step("Adverse events and missing data")
    exclusions = exclusions_frame(cohort)
    ae = adverse_events(getattr(cohort, "adverse_event_summary", None), getattr(cohort, "adverse_events", None))
    missing = missing_data(data, exclusions, plan)
    levels = subgroup_levels(data, plan.subgroup.variable)
    groups = {g: int(levels.eq(g).sum()) for g in _groups(plan)}
    both = int(pd.to_numeric(data["antibody_both"]).fillna(0).sum()) if "antibody_both" in data.columns else None
    agreement = agreement if agreement is not None else getattr(cohort, "agreement", None)
    rules = getattr(cohort, "timepoint_rules", None) or timepoint_rules(plan.outcome_codes, plan.settings,
                                                                        plan.variable_catalogue)
    step("Additional analyses")
    extra = run_additional(PartContext(data, plan, cohort, _Notes(), {"paired": paired, "subgroup_response": t5}), step)
    return StudyResults(
        plan=plan, settings=plan.settings, n_analysed=len(data), group_sizes=groups, n_antibody_both=both,
        dataset=data, baseline=table1, paired=paired, box_plots=boxes, correlation=corr,
        correlation_labels=corr_labels, regression=reg, regression_labels=reg_labels, subgroup_baseline=t4,
        subgroup_response=t5, subgroup_missing=int(levels.isna().sum()), adverse_events=ae, flow=flow_steps(cohort),
        agreement=agreement if isinstance(agreement, pd.DataFrame) else None, missing=missing,
        exclusions=exclusions, notes=tuple(notes.items), versions=library_versions(), sources=tuple(sources),
        timepoint_rules={o: dict(r) for o, r in rules.items() if o in plan.outcome_codes},
        data_cutoff_date=getattr(cohort, "data_cutoff_date", None), additional=extra, landmark_paired=landmarks,
    )


def _require_analysed(cohort: Any) -> None:
    """No analysed patient (no patients, an empty treatments table...) is one clear error, not a KeyError later."""
    if cohort.analysed_ids:
        return
    screening = cohort.screening
    steps = screening["exclusion_step"].dropna().astype(str).value_counts(sort=False) if len(screening) else {}
    why = ", ".join(f"{step}: {int(n)}" for step, n in sorted(dict(steps).items()))
    raise InsufficientDataError(
        f"no patient can be analysed ({len(screening)} screened"
        + (f"; excluded at {why}" if why else "")
        + "); run 'ipafstudy screen' to see each patient's reason"
    )


def plan_cohort(study: Any, plan: AnalysisPlan) -> Any:
    """The cohort of a loaded ``Study`` as the plan defines it (the one ``run_study`` analyses).

    Why public: the workspace's study explorer shows this cohort's flow and patients next to the tables of the
    same run, so it must be built by the same call, not a copy of it.
    """
    from ipafstudy.cohort.build import build_cohort

    return build_cohort(study, plan.settings, outcomes=list(plan.outcome_codes), primary_outcome=plan.primary_outcome,
                        exposure=plan.exposure_drug, concomitant=plan.concomitant_drugs,
                        lab_rules=plan.adverse_events.rules(), variables=plan.variable_catalogue,
                        baseline_variables=plan.table1_baseline_variables,
                        landmarks=plan.landmarks, landmark_window_days=plan.timepoints.follow_up.window_days or 0,
                        analysis_landmark=plan.analysis_landmark)


def run_study(study: Any, plan: AnalysisPlan | None = None, *, progress: Progress | None = None,
              cohort: Any = None) -> StudyResults:
    """Build the cohort from a loaded ``Study`` and run the whole plan on it.

    ``cohort``: the study's cohort already built by :func:`plan_cohort` with this plan (the explorer keeps it to
    show patients); None builds it here.
    """
    plan = plan or AnalysisPlan()
    step = progress or (lambda _name: None)
    step("Cohort")
    if cohort is None:
        cohort = plan_cohort(study, plan)
    view = StudyData(plan, study, cohort=cohort)
    problems = data_problems(plan, view)  # every plan problem the records show, at once, before any result
    if problems:
        raise PlanProblemsError(problems)
    notes = landmark_notes(cohort, plan)
    _require_analysed(cohort)
    data = view.dataset
    step("HRCT reader agreement")  # computed once, by the cohort, on the analysed patients' reads
    results = analyse_dataset(data, plan, cohort=cohort, sources=tuple(getattr(study, "sources", ())),
                              agreement=cohort.agreement, progress=progress)
    if notes:
        results = dataclasses.replace(results, notes=(*notes, *results.notes))
    return results
