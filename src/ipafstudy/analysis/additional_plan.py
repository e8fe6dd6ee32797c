"""Plan section ``additional``: the optional analyses beyond the paper (issue 12), one sub-section per part.

Every part has ``enabled`` (default true: the part runs when the data allow it and is skipped with a
note when they do not) and its own options. The parts are written to the report's "Additional
analyses" section, after the reference study's tables, which they never change. To add a part, see
``ipafstudy.analysis.additional`` (a spec class here, one field on ``AdditionalSpec``, a runner there,
a renderer in ``ipafstudy.reporting.additional``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ipafstudy.analysis.safety_plan import IncidenceSpec, TimeToEventSpec


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=True, description="Run this part (it is skipped with a note when the data "
                                                    "do not allow it)")


class SlopesSpec(_Part):
    """Rate of change over all dated values: random intercept and slope per patient (REML)."""

    outcomes: tuple[str, ...] | None = Field(
        default=None, description="Outcomes modelled (null = every plan outcome)"
    )
    change_point: float | None = Field(
        default=0.0, description="Piecewise model with a knot this many years from the drug start (0 = the start; "
        "null = no piecewise model)"
    )
    random_slope: bool = Field(default=True, description="Random slope per patient (false = random intercept only)")
    min_values: int = Field(default=2, ge=2, description="Patients need at least this many dated values")


class PowerSpec(_Part):
    """Sample size per arm of a two-arm trial on the primary outcome, and the power of the subgroup comparison."""

    outcome: str | None = Field(default=None, description="Outcome (null = the primary outcome)")
    power: tuple[float, ...] = Field(default=(0.8, 0.9), description="Target powers")
    alpha: float = Field(default=0.05, gt=0.0, lt=0.5, description="Two-sided significance level")
    effect_fractions: tuple[float, ...] = Field(
        default=(1.0, 0.5), description="Effects planned for, as fractions of the observed mean change"
    )
    simulations: int = Field(default=1000, ge=200, le=100_000,
                             description="Simulated trials per sample size (resampling the observed changes)")

    @field_validator("power")
    @classmethod
    def _powers(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if not v or any(not 0.5 <= p < 1 for p in v):
            raise ValueError("each target power must be at least 0.5 and below 1")
        return tuple(sorted(set(v)))

    @field_validator("effect_fractions")
    @classmethod
    def _fractions(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if not v or any(not 0 < f <= 10 for f in v):
            raise ValueError("each effect fraction must be above 0 (1 = the observed effect, 0.5 = half of it)")
        return tuple(sorted(set(v), reverse=True))


class AdditionalSpec(BaseModel):
    """The analyses beyond the reference study, each optional; the default report appends them after its tables."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    slopes: SlopesSpec = Field(default_factory=SlopesSpec, description="Rate of change over all visits")
    power: PowerSpec = Field(default_factory=PowerSpec, description="Power and sample size for the next trial")
    time_to_event: TimeToEventSpec = Field(default_factory=TimeToEventSpec, description="Kaplan-Meier time to "
                                           "discontinuation and to the first adverse event (analysis/safety_plan.py)")
    incidence: IncidenceSpec = Field(default_factory=IncidenceSpec, description="Exposure-adjusted incidence of "
                                     "adverse events, episodes per patient-years (analysis/safety_plan.py)")

    def outcome_problems(self, outcome_codes: tuple[str, ...]) -> list[tuple[str, str]]:
        """(plan key, problem) for a part naming an outcome the plan lacks (a plan check registered in plan.py)."""
        problems = []
        for i, code in enumerate(self.slopes.outcomes or ()):
            if code not in outcome_codes:
                problems.append((f"additional.slopes.outcomes[{i}]",
                                 f"{code!r} is not one of the plan's outcomes {list(outcome_codes)}"))
        if self.power.outcome is not None and self.power.outcome not in outcome_codes:
            problems.append(("additional.power.outcome",
                             f"{self.power.outcome!r} is not one of the plan's outcomes {list(outcome_codes)}"))
        return problems
