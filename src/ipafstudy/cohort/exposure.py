"""Tacrolimus exposure per patient from the ``treatments`` table (clinical-rules.md s.5).

How courses are joined (the spec is silent, so this is the documented rule):

* Tacrolimus rows are found case-insensitively on ``drug`` (``"Tacrolimus"``, ``"TACROLIMUS "``,
  ``"tacrolimus (FK506)"`` all count: the name only has to contain ``tacrolimus``; ``FK506`` alone
  counts too).
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
from ipafstudy.settings import ClinicalSettings

CONTINUATION_GAP_DAYS = 1
"""A course starting at most this many days after the previous end continues the exposure."""

_TACROLIMUS_NAMES = ("tacrolimus", "fk506", "fk-506")

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

    @property
    def exposed(self) -> bool:
        return self.start is not None

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["start"] = iso(self.start)
        out["end"] = iso(self.end)
        out["sources"] = list(self.sources)
        return out


def is_tacrolimus(drug: object) -> bool:
    name = (text_or_none(drug) or "").lower()
    return any(t in name for t in _TACROLIMUS_NAMES)


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


def patient_exposure(patient_id: str, rows: list[dict[str, object]], cutoff: dt.date | None) -> Exposure:
    """Join one patient's treatment rows into an exposure (see the module docstring for the rule)."""
    courses = []
    for row in rows:
        if not is_tacrolimus(row.get("drug")):
            continue
        start = as_date(row.get("start_date"))
        if start is None:
            continue
        courses.append((start, as_date(row.get("end_date")), source_text(row)))
    n_courses = len(courses)
    if n_courses == 0:
        return Exposure(patient_id, None, None, False, None, 0, 0, 0, (), "no tacrolimus course recorded")
    courses.sort(key=lambda c: (c[0], c[1] or dt.date.max, c[2]))
    if cutoff is not None:
        usable = [c for c in courses if c[0] <= cutoff]
        if not usable:
            return Exposure(
                patient_id, None, None, False, None, n_courses, 0, n_courses, (),
                f"tacrolimus started after the data cut-off {cutoff.isoformat()}",
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
    notes = []
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
        patient_id, start, end, ongoing, days, n_courses, joined, ignored, tuple(sources), "; ".join(notes)
    )


def tacrolimus_exposures(
    study: Study, settings: ClinicalSettings, cutoff: dt.date | None = None
) -> dict[str, Exposure]:
    """Exposure for every screened patient (patients without tacrolimus get ``start=None``)."""
    if cutoff is None:
        cutoff = resolve_cutoff(study, settings)
    rows = by_patient(study.treatments)
    return {pid: patient_exposure(pid, rows.get(pid, []), cutoff) for pid in study.patient_ids}


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
