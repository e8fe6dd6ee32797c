"""Plan section ``additional``: the optional analyses beyond the paper (issue 12), one sub-section per part.

Every part has ``enabled`` (default true: the part runs when the data allow it and is skipped with a
note when they do not) and its own options. The parts are written to the report's "Additional
analyses" section, after the reference study's tables, which they never change. To add a part, see
``ipafstudy.analysis.additional`` (a spec class here, one field on ``AdditionalSpec``, a runner there,
a renderer in ``ipafstudy.reporting.additional``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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


#: Covariates of the comparator's propensity model besides ``<outcome>_baseline`` and ``concomitant_<drug>``.
COMPARATOR_COVARIATES: dict[str, str] = {
    "age": "age at the index date (years)",
    "sex": "sex (categorical)",
    "ever_smoker": "former or current smoker (0/1)",
    "antibody_group": "antibody group MSA / MAA / neither (categorical)",
    "hrct_pattern": "HRCT pattern (categorical)",
    "primary_baseline": "baseline value of the primary outcome",
}


class ComparatorSpec(_Part):
    """Untreated IPAF comparator (target-trial emulation, observational): propensity-weighted difference in change."""

    covariates: tuple[str, ...] = Field(
        default=("age", "sex", "antibody_group", "primary_baseline"),
        description="Baseline covariates of the propensity model: age, sex, ever_smoker, antibody_group, "
        "hrct_pattern, primary_baseline, <outcome>_baseline, concomitant_<drug>",
    )
    weighting: Literal["overlap", "iptw"] = Field(
        default="overlap", description="Balancing weights: overlap (treated 1 - ps, comparator ps) or iptw (1/ps, "
        "1/(1 - ps))"
    )
    stabilized: bool = Field(default=False, description="IPTW only: stabilised weights (times the arm's share)")
    outcomes: tuple[str, ...] | None = Field(
        default=None, description="Outcomes compared (null = every plan outcome)"
    )
    bootstrap: int = Field(default=2000, ge=200, le=100_000,
                           description="Bootstrap replicates of the weighted difference (the propensity model is "
                           "re-fitted in each)")
    seed: int | None = Field(default=None, ge=0, description="Seed of the bootstrap (null = statistics.seed)")

    @field_validator("covariates")
    @classmethod
    def _covariates(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("name at least one covariate")
        if len(set(v)) != len(v):
            raise ValueError(f"covariates are repeated: {list(v)}")
        bad = [c for c in v if c not in COMPARATOR_COVARIATES and not c.endswith("_baseline")
               and not c.startswith("concomitant_")]
        if bad:
            raise ValueError(f"unknown covariate(s) {bad}; expected some of {list(COMPARATOR_COVARIATES)}, "
                             "<outcome>_baseline or concomitant_<drug>")
        return v


    @model_validator(mode="after")
    def _stabilized_needs_iptw(self) -> ComparatorSpec:
        if self.stabilized and self.weighting != "iptw":
            raise ValueError("stabilized: true applies to weighting: iptw only (overlap weights are not stabilised)")
        return self


class AdditionalSpec(BaseModel):
    """The analyses beyond the reference study, each optional; the default report appends them after its tables."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    slopes: SlopesSpec = Field(default_factory=SlopesSpec, description="Rate of change over all visits")
    power: PowerSpec = Field(default_factory=PowerSpec, description="Power and sample size for the next trial")
    time_to_event: TimeToEventSpec = Field(default_factory=TimeToEventSpec, description="Kaplan-Meier time to "
                                           "discontinuation and to the first adverse event (analysis/safety_plan.py)")
    incidence: IncidenceSpec = Field(default_factory=IncidenceSpec, description="Exposure-adjusted incidence of "
                                     "adverse events, episodes per patient-years (analysis/safety_plan.py)")
    comparator: ComparatorSpec = Field(default_factory=ComparatorSpec, description="Untreated IPAF comparator: "
                                       "observational target-trial emulation with propensity-score weights")

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
        for i, code in enumerate(self.comparator.outcomes or ()):
            if code not in outcome_codes:
                problems.append((f"additional.comparator.outcomes[{i}]",
                                 f"{code!r} is not one of the plan's outcomes {list(outcome_codes)}"))
        for i, name in enumerate(self.comparator.covariates):
            if name.endswith("_baseline") and name != "primary_baseline" and name[:-9] not in outcome_codes:
                problems.append((f"additional.comparator.covariates[{i}]",
                                 f"{name!r}: {name[:-9]!r} is not one of the plan's outcomes {list(outcome_codes)}"))
        return problems
