"""Plan problems: every problem of an analysis plan at once, each with its plan key (issue 11, "Bad input").

A plan is checked in two stages, and each stage reports everything it finds:

* **static** problems need only the plan: pydantic's field errors (types, allowed values, a sub-section's own
  rules) and the registered *plan checks* (cross-section rules such as "the primary outcome is one of the
  outcomes"). ``ipafstudy plan --check plan.yaml`` runs these.
* **data** problems need the loaded records: the registered *data checks* (a drug matching no course, a
  subgroup with one level in the data, ...). ``ipafstudy plan --check plan.yaml --data DATA`` and
  ``ipafstudy analyze`` run these too, ``analyze`` before it creates the output folder.

A check is a function that yields ``(key, message)`` pairs (or ``PlanProblem``) and is registered with the
top-level plan sections it reads::

    @plan_check("subgroup", "table1")
    def _subgroup_rows(plan):
        for i, row in enumerate(plan.table1):
            if row == plan.subgroup.variable:
                yield f"table1[{i}]", "the subgroup variable is the column split, not a row"

    @data_check("subgroup")
    def _subgroup_levels(plan, data):          # data: StudyData (study, cohort, dataset)
        ...

A check does not run when a section it reads has a field error (the section is replaced by its default while
the other checks run). A data problem on a key that already has a static problem is not reported again, and a
check that fails while a section it reads has a problem is passed over, so one mistake is reported once.
Checks import what they need inside the function (pandas, cohort code), so loading a plan stays light.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ipafstudy.errors import InvalidOptionError

if TYPE_CHECKING:
    from ipafstudy.analysis.plan import AnalysisPlan

SINK = "plan_problems"
"""Validation-context key: a list that receives the static problems instead of raising them."""
SKIP = "plan_skip_sections"
"""Validation-context key: top-level sections replaced by their defaults (their checks do not run)."""


@dataclass(frozen=True)
class PlanProblem:
    """One problem: the plan key it is about (``regression.predictors[2]``) and what is wrong."""

    key: str
    message: str

    @property
    def section(self) -> str:
        """The top-level plan key (``regression`` for ``regression.predictors[2]``)."""
        return self.key.split(".", 1)[0].split("[", 1)[0]

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


def format_problems(problems: Iterable[PlanProblem], source: str | None = None, notes: Iterable[str] = ()) -> str:
    items = list(problems)
    head = f"invalid analysis plan {source}" if source else "invalid analysis plan"
    count = f"{len(items)} problem{'s' if len(items) != 1 else ''}"
    lines = [f"{head} ({count}):", *(f"  {p}" for p in items), *(f"  note: {n}" for n in notes)]
    return "\n".join(lines)


class PlanProblemsError(InvalidOptionError):
    """The plan has problems; ``.problems`` lists every one with its key (the message prints them one a line)."""

    def __init__(self, problems: Iterable[PlanProblem], source: str | None = None, notes: Iterable[str] = ()) -> None:
        self.problems = tuple(problems)
        self.notes = tuple(notes)
        super().__init__(format_problems(self.problems, source, self.notes))


CheckResult = Iterable["PlanProblem | tuple[str, str]"]


@dataclass(frozen=True)
class _Check:
    fn: Callable[..., CheckResult]
    sections: tuple[str, ...]


_PLAN_CHECKS: list[_Check] = []
_DATA_CHECKS: list[_Check] = []


def _register(registry: list[_Check], sections: tuple[str, ...]) -> Callable[[Callable[..., CheckResult]], Any]:
    if not sections:
        raise ValueError("a check names the top-level plan sections it reads")

    def decorate(fn: Callable[..., CheckResult]) -> Callable[..., CheckResult]:
        registry.append(_Check(fn, tuple(sections)))
        return fn

    return decorate


def plan_check(*sections: str) -> Callable[[Callable[..., CheckResult]], Any]:
    """Register ``fn(plan)`` as a static check reading the given top-level sections."""
    return _register(_PLAN_CHECKS, sections)


def data_check(*sections: str) -> Callable[[Callable[..., CheckResult]], Any]:
    """Register ``fn(plan, data: StudyData)`` as a data check reading the given top-level sections."""
    return _register(_DATA_CHECKS, sections)


def _as_problems(found: CheckResult | None) -> list[PlanProblem]:
    out = []
    for item in found or ():
        out.append(item if isinstance(item, PlanProblem) else PlanProblem(str(item[0]), str(item[1])))
    return out


def _section_order(problem: PlanProblem) -> int:
    from ipafstudy.analysis.plan import AnalysisPlan

    order = list(AnalysisPlan.model_fields)
    return order.index(problem.section) if problem.section in order else len(order)


def sort_problems(problems: Iterable[PlanProblem]) -> list[PlanProblem]:
    """Plan order (the order of the sections in ``ipafstudy plan --default``), then the order found; no repeats."""
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=_section_order)


def run_plan_checks(plan: AnalysisPlan, skip: Iterable[str] = ()) -> list[PlanProblem]:
    """Every registered static check, in registration order, except those reading a section that was replaced by
    its default (``skip``). A check that fails with an error while a section it reads already has a problem is
    taken as a consequence of that problem and passed over; otherwise the error propagates (a bug)."""
    replaced = set(skip)
    problems: list[PlanProblem] = []
    for check in _PLAN_CHECKS:
        if not replaced.isdisjoint(check.sections):
            continue
        try:
            problems.extend(_as_problems(check.fn(plan)))
        except (ValueError, KeyError, TypeError, AttributeError):
            if {p.section for p in problems}.isdisjoint(check.sections):
                raise
    return problems


# --- static stage -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanCheck:
    """The outcome of checking a plan: the plan (``None`` when it cannot be built) and every problem found.

    ``plan`` may hold defaults in place of the ``replaced`` sections, so it is only for further checking.
    """

    plan: AnalysisPlan | None
    problems: tuple[PlanProblem, ...]
    replaced: frozenset[str] = field(default_factory=frozenset)

    @property
    def sections_with_problems(self) -> frozenset[str]:
        return frozenset({p.section for p in self.problems} | set(self.replaced))


def loc_key(loc: Iterable[Any]) -> str:
    """pydantic location -> plan key: ('outcomes', 1, 'code') -> 'outcomes[1].code'."""
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            key += f".{part}" if key else str(part)
    return key or "(plan)"


def check_plan_mapping(data: Any) -> PlanCheck:
    """Validate a plan mapping collecting every static problem (never raises for a bad plan).

    Field errors come from pydantic all at once; the sections they are in are then replaced by their defaults so
    that the registered checks of the other sections still run.
    """
    from pydantic import ValidationError

    from ipafstudy.analysis.plan import AnalysisPlan, field_problems

    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        return PlanCheck(None, (PlanProblem("(plan)", "the top level must be a mapping of keys"),))
    sink: list[PlanProblem] = []
    try:
        plan = AnalysisPlan.model_validate(dict(data), context={SINK: sink})
        return PlanCheck(plan, tuple(sort_problems(sink)))
    except ValidationError as exc:
        fields = field_problems(exc)
    replaced = frozenset(p.section for p in fields)
    kept = {k: v for k, v in data.items() if k not in replaced}
    sink = []
    try:
        plan = AnalysisPlan.model_validate(kept, context={SINK: sink, SKIP: replaced})
    except ValidationError:
        return PlanCheck(None, tuple(sort_problems(fields)), replaced)
    return PlanCheck(plan, tuple(sort_problems([*fields, *sink])), replaced)


def check_plan_file(path: Any) -> PlanCheck:
    """Read a YAML plan file and check it (an unreadable file is still an ``InvalidOptionError``)."""
    from ipafstudy.analysis.plan import read_plan_yaml

    return check_plan_mapping(read_plan_yaml(path))


# --- data stage -------------------------------------------------------------------------------------------------


LOAD_SECTIONS = ("variables", "clinical")
"""Sections the records are loaded with: with a problem in one of them no data check runs."""
COHORT_SECTIONS = ("outcomes", "primary_outcome", "exposure", "concomitant", "adverse_events", "clinical", "variables",
                   "timepoints")
"""Sections the cohort is built from: a data check that uses ``data.cohort`` or ``data.dataset`` needs them."""


class DataUnavailable(Exception):
    """The cohort cannot be built for this plan (a section it needs has a problem): the check is not run."""


class StudyData:
    """What a data check sees: the loaded ``study``, and the ``cohort`` and analysis ``dataset`` built lazily."""

    def __init__(self, plan: AnalysisPlan, study: Any, *, blocked: Iterable[str] = (), cohort: Any = None,
                 dataset: Any = None) -> None:
        self.plan = plan
        self.study = study
        self._blocked = frozenset(blocked)
        self._cohort = cohort
        self._dataset = dataset

    @functools.cached_property
    def exposures(self) -> dict[str, Any]:
        """Each screened patient's exposure to the plan's drug (needs only the treatments table)."""
        if self._cohort is not None:
            return dict(self._cohort.exposures)
        from ipafstudy.cohort.exposure import tacrolimus_exposures

        return tacrolimus_exposures(self.study, self.plan.settings, drug=self.plan.exposure_drug)

    @property
    def cohort(self) -> Any:
        if self._cohort is None:
            blocked = sorted(self._blocked.intersection(COHORT_SECTIONS))
            if blocked:
                shown = ", ".join(blocked)
                raise DataUnavailable(f"they need the cohort, built from plan keys with a problem ({shown})")
            from ipafstudy.cohort.build import build_cohort

            plan = self.plan
            try:
                self._cohort = build_cohort(
                    self.study, plan.settings, outcomes=list(plan.outcome_codes), primary_outcome=plan.primary_outcome,
                    exposure=plan.exposure_drug, concomitant=plan.concomitant_drugs,
                    lab_rules=plan.adverse_events.rules(), variables=plan.variable_catalogue,
                    baseline_variables=plan.table1_baseline_variables,
                    landmarks=plan.landmarks, landmark_window_days=plan.timepoints.follow_up.window_days or 0,
                    analysis_landmark=plan.analysis_landmark,
                )
            except (InvalidOptionError, ValueError, KeyError) as exc:
                raise DataUnavailable(f"the cohort could not be built: {exc}") from None
        return self._cohort

    @property
    def dataset(self) -> Any:
        """The analysis dataset (one row per analysed patient); unavailable when nobody is analysed."""
        if self._dataset is None:
            cohort = self.cohort
            if not cohort.analysed_ids:
                raise DataUnavailable("they need the analysed patients and no patient is analysed")
            from ipafstudy.analysis.dataset import analysis_dataset

            self._dataset = analysis_dataset(cohort, self.plan)
        return self._dataset


def run_data_checks(plan: AnalysisPlan, data: StudyData, skip: Iterable[str] = (),
                    troubled: Iterable[str] = ()) -> tuple[list[PlanProblem], list[str]]:
    """Every registered data check except those reading a section replaced by its default (``skip``); returns the
    problems and why some checks could not run (the cohort could not be built, nobody is analysed), once per reason.
    A check that fails with an error while a section it reads has a static problem (``troubled``) is taken as a
    consequence of that problem and passed over; otherwise the error propagates (a bug)."""
    replaced, bad = set(skip), set(troubled)
    problems: list[PlanProblem] = []
    not_run: dict[str, int] = {}
    for check in _DATA_CHECKS:
        if not replaced.isdisjoint(check.sections):
            continue
        try:
            problems.extend(_as_problems(check.fn(plan, data)))
        except DataUnavailable as exc:
            not_run[str(exc)] = not_run.get(str(exc), 0) + 1
        except (ValueError, KeyError, TypeError, AttributeError):
            if bad.isdisjoint(check.sections):
                raise
    notes = [f"{n} data check(s) could not run: {why}" for why, n in not_run.items()]
    return problems, notes


def data_problems(plan: AnalysisPlan, data: StudyData) -> list[PlanProblem]:
    """The data problems of a valid plan against loaded records, in plan order (used by ``run_study``)."""
    problems, _ = run_data_checks(plan, data)
    return sort_problems(problems)


def load_study_for_plan(data: Any, plan: AnalysisPlan, *, mapping: Any = None, redcap_dictionary: Any = None) -> Any:
    """The records loaded as ``analyze`` loads them for this plan (its declared variables and data cut-off)."""
    from ipafstudy.data.loaders import load_study

    return load_study(data, mapping=mapping, redcap_dictionary=redcap_dictionary, variables=plan.variable_catalogue,
                      data_cutoff_date=plan.settings.data_cutoff_date)


def check_with_data(checked: PlanCheck, load: Callable[[AnalysisPlan], Any]) -> tuple[list[PlanProblem], list[str]]:
    """Static problems plus the data problems of every section without one; ``load(plan)`` loads the study.

    Returns the problems and notes (data checks that could not run). The records are not loaded when the
    sections they are loaded with have a problem.
    """
    problems = list(checked.problems)
    notes: list[str] = []
    plan = checked.plan
    bad = checked.sections_with_problems
    if plan is None or not bad.isdisjoint(LOAD_SECTIONS):
        notes.append("the data checks did not run (the records are loaded with the plan's variables and clinical "
                     "settings); fix the problems above and check again")
        return sort_problems(problems), notes
    study = load(plan)
    found, not_run = run_data_checks(plan, StudyData(plan, study, blocked=bad), skip=checked.replaced, troubled=bad)
    static_keys = {p.key for p in problems}
    found = [p for p in found if p.key not in static_keys]  # a key with a static problem is not reported twice
    notes.extend(f"{n}; fix the problems above and check again" for n in not_run)
    return sort_problems([*problems, *found]), notes


# --- data checks (register yours below, one block per plan section) ---------------------------------------------


@data_check("exposure")
def _drug_has_courses(plan: AnalysisPlan, data: StudyData) -> CheckResult:
    """Courses are recorded but none is the plan's drug: the study drug is misnamed (not "nobody qualified")."""
    from ipafstudy.cohort.exposure import NON_EXPOSURE_ROUTES

    treatments = data.study.treatments
    if not len(treatments):
        return
    drug = plan.exposure_drug
    routes = treatments["route"] if "route" in treatments.columns else [None] * len(treatments)
    for name, route in zip(treatments["drug"], routes, strict=True):
        if drug.matches(name) and not (isinstance(route, str) and route.strip().lower() in NON_EXPOSURE_ROUTES):
            return
    yield ("exposure.names", f"no treatments row matches the drug {plan.exposure.drug!r} (names "
           f"{list(plan.exposure.names)}, case-insensitive whole words, topical courses excluded)")


@data_check("subgroup")
def _subgroup_levels(plan: AnalysisPlan, data: StudyData) -> CheckResult:
    """A subgroup comparison the plan asks for needs at least two of its levels among the analysed patients.

    Only when the plan names the ``subgroup`` section: the default plan's implicit comparison on records that
    lack it (a small test cohort) keeps printing what it can, as before.
    """
    from ipafstudy.analysis.study import subgroup_problems  # the same rule analyse_dataset applies

    yield from subgroup_problems(data.dataset, plan)


@data_check("table1", "variables", "outcomes")
def _table1_rows_have_data(plan: AnalysisPlan, data: StudyData) -> CheckResult:
    """A ``<variable>_baseline`` row of a variable the records never measure does not exist in this study (issue 11
    item 4); a variable merely missing for some patients is shown with its n or an Unknown row instead. Reads the
    loaded records only (no cohort), so it runs even when the cohort cannot be built."""
    measured = set()
    meas = getattr(data.study, "measurements", None)
    if meas is not None and len(meas) and "variable" in meas.columns:
        measured = set(meas["variable"].dropna().astype(str))
    extra = set(plan.table1_baseline_variables)
    for i, row in enumerate(plan.table1):
        code = row.variable.removesuffix("_baseline")
        if row.variable.endswith("_baseline") and code in extra and code not in measured:
            yield f"table1[{i}]", (f"the measurements table has no {code!r} value, so its baseline cannot be shown; "
                                   "add the measurements or remove the row")


@data_check("outcomes")
def _outcomes_measured(plan: AnalysisPlan, data: StudyData) -> CheckResult:
    """An outcome the plan names that the records never measure (no measurements row of the variable, no HRCT read
    of the score) is a misnamed or missing variable, not an empty Table 2 row.

    Only when the plan names ``outcomes``: the default plan's outcomes on records that lack some (a small test
    cohort) keep giving empty rows, as before.
    """
    if "outcomes" not in plan.model_fields_set:
        return
    from ipafstudy.rules.codes import HRCT_OUTCOMES

    study = data.study
    measured = set(study.measurements["variable"].dropna().astype(str)) if len(study.measurements) else set()
    reads = study.hrct_reads
    for i, code in enumerate(plan.outcome_codes):
        if code in HRCT_OUTCOMES:
            pattern = code.removeprefix("hrct_")
            columns = [c for c in (pattern, f"{pattern}_pct") if c in reads.columns] if pattern != "total" else []
            found = len(reads) > 0 and (pattern == "total" or any(reads[c].notna().any() for c in columns))
            if not found:
                yield f"outcomes[{i}].code", f"{code!r}: no HRCT read in the records scores it"
        elif code not in measured:
            yield (f"outcomes[{i}].code", f"{code!r}: no measurements row of this variable in the records (check the "
                   "variable column's spelling, or remove the outcome)")


@data_check("timepoints", "outcomes")
def _landmarks_have_data(plan: AnalysisPlan, data: StudyData) -> CheckResult:
    """A landmark where no patient has a value of any outcome within its window on treatment (the analysed
    patients; every patient with an exposure start when nobody is analysed). Some outcomes only: a report note."""
    if not plan.landmarks:
        return
    cohort = data.cohort
    if not len(cohort.timepoint_values):
        return  # no value at any time point (e.g. nobody exposed): another problem, not the landmarks'
    frame = cohort.values if cohort.analysed_ids else cohort.timepoint_values
    have = set(frame["timepoint"].astype(str)) if len(frame) else set()
    window = plan.timepoints.follow_up.window_days
    for i, month in enumerate(plan.landmarks):
        if f"m{month}" not in have:
            yield (f"timepoints.follow_up.months[{i}]",
                   f"no patient has a value of any outcome within {window} days of the {month}-month landmark on "
                   "treatment; remove the landmark or widen timepoints.follow_up.window_days")
