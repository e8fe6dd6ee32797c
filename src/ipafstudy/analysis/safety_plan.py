"""Plan sub-sections ``additional.time_to_event`` and ``additional.incidence`` (issue 12 items 2 and 3).

Kept beside ``additional_plan.py`` (which holds one field per part) so the safety parts' options live in one
place. Both are on by default; they are skipped with a note when the data do not allow them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ipafstudy.rules.lab_rules import LAB_RULES


#: Adverse-event types a curve can be asked for: the schema's and those of every lab rule.
def known_event_types() -> tuple[str, ...]:
    """Event types the data format allows plus the lab rules' events (imported late: the schema pulls in numpy)."""
    from ipafstudy.data.schema import ADVERSE_EVENTS

    return (*(ADVERSE_EVENTS.column("event").allowed or ()), *LAB_RULES.values())


class _SafetyPart(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=True, description="Run this part (it is skipped with a note when the data "
                                                    "do not allow it)")


class TimeToEventSpec(_SafetyPart):
    """Kaplan-Meier time to discontinuation and to the first adverse event, with numbers at risk."""

    discontinuation: bool = Field(
        default=True, description="Time to discontinuation of the drug: any reason, and for an adverse event"
    )
    first_adverse_event: bool = Field(
        default=True, description="Time to the first adverse event: any type, and each type in event_types"
    )
    event_types: tuple[str, ...] | None = Field(
        default=None, description="Adverse-event types with their own curve (null = every type with at least one "
        "episode during treatment), e.g. [infection, hypomagnesaemia]"
    )
    at_risk_every_months: float = Field(
        default=6.0, gt=0, le=120, description="Numbers at risk are shown every this many months"
    )
    median_rule: Literal["print", "quantile"] = Field(
        default="print", description="Median when a curve ends exactly at 50 %: print = R print(fit) (the time it "
        "got there); quantile = R quantile(fit) (midpoint with the last time)"
    )

    @field_validator("event_types")
    @classmethod
    def _types(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if v is not None and len(set(v)) != len(v):
            raise ValueError(f"event types are repeated: {list(v)}")
        known = known_event_types()
        unknown = [t for t in v or () if t not in known]
        if unknown:
            raise ValueError(f"unknown adverse-event type(s) {unknown}; expected some of {list(known)}")
        return v


class IncidenceSpec(_SafetyPart):
    """Exposure-adjusted incidence of each adverse-event type with exact Poisson (Garwood) CIs."""

    per_patient_years: float = Field(
        default=100.0, gt=0, le=100_000, description="Rates are episodes per this many patient-years"
    )
