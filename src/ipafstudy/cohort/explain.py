"""``explain_patient``: a plain-text trace of why one patient is in or out, and which values were used."""

from __future__ import annotations

from ipafstudy.cohort._common import iso
from ipafstudy.cohort.build import Cohort
from ipafstudy.errors import InvalidOptionError


def _yn(value: bool | None) -> str:
    return "unknown" if value is None else ("met" if value else "not met")


def explain_patient(cohort: Cohort, patient_id: str) -> str:
    """Each flow decision, the IPAF domains and items, and the dated values used (with their source)."""
    pid = str(patient_id)
    if pid not in cohort.classifications:
        known = sorted(cohort.classifications)
        shown = ", ".join(known[:10]) + (" ..." if len(known) > 10 else "")
        raise InvalidOptionError(f"patient {pid!r} is not in the screened records; patients are: {shown}")
    row = cohort.screening.set_index("patient_id").loc[pid]
    c = cohort.classifications[pid]
    exp = cohort.exposures[pid]
    s = cohort.settings
    lines = [f"Patient {pid}"]
    lines.append(
        "Result: ANALYSED" if bool(row["analysed"]) else f"Result: EXCLUDED at step '{row['exclusion_step']}'"
    )
    if not bool(row["analysed"]):
        lines.append(f"  reason: {row['exclusion_reason']}")

    lines.append("")
    lines.append(f"IPAF classification: {c.status}" + (f" ({c.combination})" if c.combination else ""))
    if c.reason:
        lines.append(f"  reason: {c.reason}")
    if c.deciding_items:
        lines.append(f"  deciding items: {', '.join(c.deciding_items)}")
    for e in c.entry:
        lines.append(f"  entry {e.item}: {_yn(e.met)} - {e.detail}")
    for name, dom in c.domains.items():
        met = ", ".join(dom.items_met) or "none"
        lines.append(f"  {name} domain: {_yn(dom.met)} (items met: {met})")
        for item in dom.items:
            if item.met is not False:
                lines.append(f"    {item.item}: {_yn(item.met)} - {item.detail}")
    g = cohort.antibody_groups[pid]
    lines.append(
        f"Antibody group: {g.group} (MSA: {', '.join(g.msa_found) or 'none'}; MAA: {', '.join(g.maa_found) or 'none'}"
        f"; precedence={s.antibody_group_precedence!r})"
    )

    lines.append("")
    drug = cohort.exposure_drug.display
    drug_title = drug[:1].upper() + drug[1:]
    if exp.exposed:
        lines.append(
            f"{drug_title}: {iso(exp.start)} to {iso(exp.end)}{' (ongoing at cut-off)' if exp.ongoing else ''}, "
            f"{exp.exposure_days} days (min_exposure_days={s.min_exposure_days}); data cut-off "
            f"{iso(cohort.data_cutoff_date)}"
        )
        if exp.note:
            lines.append(f"  {exp.note}")
        for src in exp.sources:
            lines.append(f"  from {src}")
    else:
        lines.append(f"{drug_title}: none ({exp.note})")
    age = row["age_at_start"]
    if not exp.exposed:
        lines.append(f"Age at start: not applicable (no {drug} start)")
    elif age is None or age != age:
        lines.append("Age at start: unknown (no birth_date or age_at_index)")
    else:
        lines.append(f"Age at start: {age:g} (from {row['age_source']}; min_age={s.min_age:g})")

    vals = cohort.timepoint_values[cohort.timepoint_values["patient_id"] == pid]
    misses = cohort.timepoint_misses[cohort.timepoint_misses["patient_id"] == pid]
    if len(vals) or len(misses):
        lines.append("")
        follow = (f"follow_up_rule={s.follow_up_rule} for measurements, HRCT follow-up = latest usable scan"
                  if not cohort.landmarks else
                  f"follow-up at landmarks {', '.join(map(str, cohort.landmarks))} months: closest value within the "
                  "window on treatment, ties the earlier, HRCT from usable scans")
        lines.append(
            f"Time points (baseline window {s.baseline_window_days} days, start day "
            f"{'included' if s.baseline_includes_start_day else 'excluded'}; {follow}; the rule applied is named "
            "per value):"
        )
        for outcome in cohort.outcomes:
            for tp in ("baseline", *cohort.follow_up_timepoints):
                v = vals[(vals["outcome"] == outcome) & (vals["timepoint"] == tp)]
                m = misses[(misses["outcome"] == outcome) & (misses["timepoint"] == tp)]
                tag = " [primary]" if outcome == cohort.primary_outcome else ""
                if len(v):
                    r = v.iloc[0]
                    lines.append(
                        f"  {outcome}{tag} {tp}: {r['value']:g} on {iso(r['date'])} "
                        f"(day {int(r['days_from_start']):+d}; {r['source']}; rule {r['rule']})"
                    )
                elif len(m):
                    lines.append(f"  {outcome}{tag} {tp}: missing - {m.iloc[0]['reason']} "
                                 f"(rule {m.iloc[0]['rule']}; cause {m.iloc[0]['cause']})")
    excl = cohort.hrct.excluded_scans
    if len(excl):
        for r in excl[excl["patient_id"] == pid].to_dict("records"):
            lines.append(f"  HRCT scan {iso(r['scan_date'])} not used: {r['reason']}")
    return "\n".join(lines)
