"""Tacrolimus exposure per patient from the ``treatments`` table (clinical-rules.md s.5).

How courses are joined (the spec is silent, so this is the documented rule):

* The exposure drug is a ``DrugMatcher`` (the plan's ``exposure`` section; default tacrolimus with the
  names tacrolimus, FK506, FK-506, Prograf, Advagraf, Envarsus). A course matches when one of the names
  occurs in ``drug`` as a whole word, case-insensitively: ``"Tacrolimus"``, ``"TACROLIMUS "`` and
  ``"tacrolimus (FK506)"`` match; ``"pretacrolimusx"`` does not.
* Route (optional ``route`` column): a topical course never counts as exposure (nor as a concomitant
  drug). When the study records routes at all, a matching course without a route still counts and
  the patient gets ONE warning (``Exposure.warning``); a study without any route keeps today's
  behaviour, without warnings.
* The exposure starts on the FIRST course's start date. Later courses are joined while they
  continue it: a course that starts on or before the day after the current end
  (``start <= end + CONTINUATION_GAP_DAYS``) extends the exposure (dose changes are often
  written as a new prescription starting the next day). The first real gap ends the exposure;
  any later course is a re-challenge and is reported (``n_courses_ignored``) but not used.
* A course without an end date, or ending after the data cut-off, is ongoing: it ends at the
  cut-off. A course starting after the cut-off is not counted.
* Exposure days count both the first and the last day: ``(end - start).days + 1``, because
  ``end_date`` is defined as the last day on the drug. A course from 1 Jan to 31 Mar 2023 is
  90 days.
* Data cut-off: ``settings.data_cutoff_date``, else the latest date found anywhere in the
  records (treatment dates, measurements, HRCT scans, antibody tests, adverse events; birth
  dates are not records of follow-up and are ignored). The value used is returned.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from ipafstudy.cohort._common import all_dates, as_date, by_patient, iso, source_text, text_or_none
from ipafstudy.data.model import Study
from ipafstudy.rules.common import float_or_nan
from ipafstudy.rules.drugs import DEFAULT_EXPOSURE_NAMES, DrugMatcher
from ipafstudy.settings import ClinicalSettings

CONTINUATION_GAP_DAYS = 1
"""A course starting at most this many days after the previous end continues the exposure."""

NON_EXPOSURE_ROUTES = ("topical",)
"""Courses given by these routes never count as exposure or as a concomitant drug."""

TACROLIMUS = DrugMatcher("tacrolimus", DEFAULT_EXPOSURE_NAMES, "tacrolimus")


def _route(row: dict[str, object]) -> str | None:
    route = text_or_none(row.get("route"))
    return route.lower() if route else None

_DATE_COLUMNS = {
    "treatments": ("start_date", "end_date"),
    "measurements": ("date",),
    "hrct_reads": ("scan_date",),
    "antibodies": ("test_date",),
    "adverse_events": ("onset_date",),
}


@dataclass(frozen=True)
class Exposure:
    """One patient's tacrolimus exposure, with the rows it was built from."""

    patient_id: str
    start: dt.date | None
    end: dt.date | None
    ongoing: bool
    exposure_days: int | None
    n_courses: int
    n_courses_joined: int
    n_courses_ignored: int
    sources: tuple[str, ...]
    note: str
    warning: str | None = None

    @property
    def exposed(self) -> bool:
        return self.start is not None

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["start"] = iso(self.start)
        out["end"] = iso(self.end)
        out["sources"] = list(self.sources)
        if self.warning is None:
            del out["warning"]
        return out


def resolve_cutoff(study: Study, settings: ClinicalSettings) -> dt.date | None:
    """The data cut-off used: the setting, else the latest date in the records (None if no dates)."""
    if settings.data_cutoff_date is not None:
        return as_date(settings.data_cutoff_date)
    found: list[dt.date] = []
    for table, cols in _DATE_COLUMNS.items():
        frame = study.table(table)
        for col in cols:
            if col in frame.columns:
                found.extend(all_dates(frame[col].tolist()))
    return max(found) if found else None


def cutoff_text(used: dt.date | None, stated: dt.date | None) -> str:
    """How the cut-off was chosen, for the console and reports: '2025-09-30 (stated)' or '... (derived ...)'."""
    if used is None:
        return "none (no dates in the records)"
    if stated is not None:
        return f"{used.isoformat()} (stated: clinical setting data_cutoff_date)"
    return f"{used.isoformat()} (derived: the latest date in the records; set data_cutoff_date to fix it)"


def patient_exposure(
    patient_id: str,
    rows: list[dict[str, object]],
    cutoff: dt.date | None,
    drug: DrugMatcher = TACROLIMUS,
    *,
    routes_recorded: bool = False,
) -> Exposure:
    """Join one patient's treatment rows into an exposure (see the module docstring for the rule).

    ``routes_recorded``: the study has a route on some course, so a matching course without one is warned about.
    """
    courses = []
    n_topical = n_no_route = 0
    for row in rows:
        if not drug.matches(row.get("drug")):
            continue
        start = as_date(row.get("start_date"))
        if start is None:
            continue
        route = _route(row)
        if route in NON_EXPOSURE_ROUTES:
            n_topical += 1
            continue
        n_no_route += route is None
        courses.append((start, as_date(row.get("end_date")), source_text(row)))
    n_courses = len(courses)
    warning = None
    if routes_recorded and n_no_route:
        warning = (f"patient {patient_id}: {n_no_route} {drug.display} course(s) without a route counted as "
                   "exposure; record the route (oral, intravenous, ...)")
    topical = [f"{n_topical} topical {drug.display} course(s) not counted"] if n_topical else []
    if n_courses == 0:
        note = "; ".join([f"no {drug.display} course recorded", *topical])
        return Exposure(patient_id, None, None, False, None, 0, 0, 0, (), note)
    courses.sort(key=lambda c: (c[0], c[1] or dt.date.max, c[2]))
    if cutoff is not None:
        usable = [c for c in courses if c[0] <= cutoff]
        if not usable:
            return Exposure(
                patient_id, None, None, False, None, n_courses, 0, n_courses, (),
                "; ".join([f"{drug.display} started after the data cut-off {cutoff.isoformat()}", *topical]),
                warning,
            )
    else:
        usable = courses
    start, first_end, first_src = usable[0]
    end = first_end
    ongoing = first_end is None
    sources = [first_src]
    joined = 1
    for c_start, c_end, c_src in usable[1:]:
        continues = ongoing or (end is not None and c_start <= end + dt.timedelta(days=CONTINUATION_GAP_DAYS))
        if not continues:
            break
        joined += 1
        sources.append(c_src)
        if c_end is None:
            ongoing = True
        elif end is not None and c_end > end:
            end = c_end
    notes = list(topical)
    if cutoff is not None and (ongoing or (end is not None and end > cutoff)):
        if not ongoing:
            notes.append(f"recorded end {end.isoformat()} is after the data cut-off")  # type: ignore[union-attr]
        ongoing = True
        end = cutoff
    elif ongoing and cutoff is None:
        end = None
    days = (end - start).days + 1 if end is not None else None
    ignored = n_courses - joined
    if joined > 1:
        notes.append(f"{joined} contiguous courses joined")
    if ignored:
        notes.append(f"{ignored} later course(s) after a gap not used")
    if ongoing:
        notes.append(f"ongoing at the data cut-off {iso(cutoff)}")
    return Exposure(
        patient_id, start, end, ongoing, days, n_courses, joined, ignored, tuple(sources), "; ".join(notes), warning
    )


def routes_recorded(study: Study) -> bool:
    """Whether any course of the study has a route (only then is a missing route worth a warning)."""
    return "route" in study.treatments.columns and bool(study.treatments["route"].notna().any())


def tacrolimus_exposures(
    study: Study, settings: ClinicalSettings, cutoff: dt.date | None = None, drug: DrugMatcher = TACROLIMUS
) -> dict[str, Exposure]:
    """Exposure to ``drug`` (default tacrolimus) for every screened patient (unexposed patients get ``start=None``)."""
    if cutoff is None:
        cutoff = resolve_cutoff(study, settings)
    rows = by_patient(study.treatments)
    recorded = routes_recorded(study)
    return {
        pid: patient_exposure(pid, rows.get(pid, []), cutoff, drug, routes_recorded=recorded)
        for pid in study.patient_ids
    }


def concomitant_at_start(
    rows: list[dict[str, object]], start: dt.date | None, drugs: tuple[DrugMatcher, ...] | list[DrugMatcher]
) -> dict[str, int | None]:
    """1 when a non-topical course of each drug covers the exposure start day (start <= day <= end or ongoing), else 0.

    None for every drug when there is no exposure start.
    """
    out: dict[str, int | None] = {}
    for drug in drugs:
        if start is None:
            out[drug.drug] = None
            continue
        on = False
        for row in rows:
            if not drug.matches(row.get("drug")) or _route(row) in NON_EXPOSURE_ROUTES:
                continue
            c_start, c_end = as_date(row.get("start_date")), as_date(row.get("end_date"))
            if c_start is not None and c_start <= start and (c_end is None or start <= c_end):
                on = True
                break
        out[drug.drug] = int(on)
    return out


def age_at(birth_date: dt.date, day: dt.date) -> int:
    """Age in completed years on ``day`` (a birthday on ``day`` counts; 29 Feb birthdays turn on 1 Mar)."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def age_at_start(patient: dict[str, object], start: dt.date | None) -> tuple[float | None, str]:
    """Age at tacrolimus start: completed years from birth_date, else ``age_at_index`` as given."""
    birth = as_date(patient.get("birth_date"))
    if birth is not None and start is not None:
        return float(age_at(birth, start)), "birth_date"
    value = float_or_nan(patient.get("age_at_index"))
    if value != value:  # NaN: blank or not a number
        return None, "missing"
    return value, "age_at_index"
