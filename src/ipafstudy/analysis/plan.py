"""The analysis plan: every choice the study makes, declared in one validated YAML file.

The plan is the written pre-specification of the analysis. The default plan (``ipafstudy plan
--default``) reproduces the reference study's analysis with the SPSS/Prism conventions of
``shared/spec/statistics.md`` and the clinical defaults of ``ClinicalSettings``; a user edits a
copy and passes it with ``--plan``. Unknown keys and values outside the allowed sets are errors
that name the key, the value and what is allowed, so a typo never silently falls back to a
default.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ipafstudy import conventions as conv
from ipafstudy.analysis.additional_plan import AdditionalSpec
from ipafstudy.analysis.plancheck import (
    SINK,
    SKIP,
    PlanProblem,
    PlanProblemsError,
    plan_check,
    run_plan_checks,
    sort_problems,
)
from ipafstudy.analysis.table1_catalogue import DEFAULT_TABLE1, Table1Variable, table1_choices, table1_variable
from ipafstudy.analysis.table1_catalogue import unknown_row_message as _unknown_table1_row
from ipafstudy.conventions import (
    AdjustMethod,
    CiMethod,
    EffectSizeN,
    MannWhitneyMethod,
    QuantileMethod,
    RobustSe,
    WhiskerRule,
    WilcoxonMethod,
    ZeroMethod,
)
from ipafstudy.errors import InvalidOptionError
from ipafstudy.rules.codes import HRCT_OUTCOMES, OUTCOME_CODES
from ipafstudy.rules.drugs import DEFAULT_EXPOSURE_NAMES, DrugMatcher
from ipafstudy.rules.lab_rules import DEFAULT_LAB_RULES, LAB_RULES, LabRules
from ipafstudy.rules.units import (
    BUILTIN_VARIABLES,
    UNIT_DEPENDENT_ALIASES,
    Better,
    MeasurementVariable,
    UnknownUnitError,
    VariableCatalogue,
    variable_token,
)
from ipafstudy.settings import ClinicalSettings, describe_settings, setting_type_problem

# Patient-level covariates a plan may use as a regression predictor (besides outcome columns).
COVARIATE_PREDICTORS: dict[str, str] = {
    "ever_smoker": "Smoking (ever vs never)",
    "age_at_start": "Age at {drug} start, years",  # a template: {drug} is the study drug's label
    "sex_male": "Male sex",
    "pirfenidone": "Concomitant pirfenidone",
    "nintedanib": "Concomitant nintedanib",
    "tacrolimus_trough_median": "Median tacrolimus trough, ng/mL",
}
OUTCOME_SUFFIXES: dict[str, str] = {"baseline": "Baseline", "follow_up": "Follow-up", "change": "Δ"}

Adjust = Literal["none", AdjustMethod]
ContinuousSummary = Literal["median_iqr", "mean_sd"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OutcomeSpec(_Strict):
    """One outcome measured at baseline and last follow-up: an HRCT score or any measurement variable.

    Omitted ``label``, ``unit`` and ``better`` come from the variable catalogue when the plan is validated
    (``AnalysisPlan`` fills them in), so a loaded plan always states all three.
    """

    code: str = Field(
        description="Outcome code: an HRCT score (" + ", ".join(HRCT_OUTCOMES) + ") or a measurement variable, "
        "built in (e.g. fvc_pct_pred, dlco_pct_pred, crp) or declared under variables"
    )
    label: str | None = Field(default=None, description="Label printed in tables and figures (default: the "
                              "variable's label)")
    unit: str | None = Field(default=None, description="Unit printed after the label (default: the variable's unit; "
                             "null for scores)")
    better: Better | None = Field(
        default=None, description="Which change is an improvement, lower or higher (default: the variable's; HRCT "
        "scores lower). Table 2 counts decreased/increased literally; the summary says improved/worsened by this"
    )
    decimals: int | None = Field(
        default=None, ge=0, le=6, description="Decimals printed for its summaries and changes (default: the "
        "variable's, e.g. 0 for FVC in mL, 2 for CRP; else the journal style's)"
    )


#: Patient-level categorical columns of the analysis dataset a subgroup may be defined by: text levels ...
SUBGROUP_TEXT_COLUMNS = ("antibody_group", "sex", "smoking", "hrct_pattern", "site", "domain_combination")
#: ... and 0/1 indicators (groups "1" = Yes, "0" = No), plus concomitant_<code> of the plan's concomitant drugs.
SUBGROUP_INDICATOR_COLUMNS = ("sex_male", "ever_smoker", "antibody_both", "pirfenidone", "nintedanib",
                              "domain_clinical", "domain_serologic", "domain_morphologic")
SUBGROUP_INDICATOR_PREFIXES = ("clinical_", "serologic_", "morphologic_", "concomitant_")
_SUBGROUP_NAMES = {"antibody_group": "antibody group", "hrct_pattern": "HRCT pattern", "smoking": "smoking history",
                   "site": "centre", "domain_combination": "IPAF domain combination", "sex_male": "male sex",
                   "ever_smoker": "smoking (ever)", "antibody_both": "both an MSA and an MAA"}


class SubgroupSpec(_Strict):
    """Tables 4 and 5: the analysed patients split by one patient-level categorical variable (2 or more groups)."""

    variable: str = Field(
        default="antibody_group",
        description="Patient-level categorical column of the analysis dataset that defines the subgroups: "
        "antibody_group, sex, smoking, hrct_pattern, site, domain_combination, a 0/1 column (sex_male, ever_smoker, "
        "pirfenidone, nintedanib, clinical_*, serologic_*, morphologic_*) or concomitant_<code>",
    )
    groups: tuple[str, ...] | None = Field(
        default=("MSA", "MAA"),
        description="The groups compared, in table order (2 or more; null = every observed level, in the data "
        "dictionary's order; 0/1 columns: 1 then 0). Default for antibody_group: [MSA, MAA]",
    )
    labels: dict[str, str] = Field(
        default_factory=lambda: {"MSA": "MSAs", "MAA": "MAAs"},
        description="Label per group (a group without one is labelled by its level; 0/1 columns: Yes/No)",
    )

    @model_validator(mode="before")
    @classmethod
    def _defaults_follow_variable(cls, data: Any) -> Any:
        """[MSA, MAA] are antibody_group's defaults; another variable defaults to its observed levels."""
        if isinstance(data, dict) and data.get("variable", "antibody_group") != "antibody_group":
            data = {"groups": None, "labels": {}, **data}
        elif isinstance(data, dict) and "labels" not in data and isinstance(data.get("groups"), (list, tuple)):
            data = {**data, "labels": {g: t for g, t in {"MSA": "MSAs", "MAA": "MAAs"}.items() if g in data["groups"]}}
        return data

    @field_validator("variable")
    @classmethod
    def _known_column(cls, value: str) -> str:
        ok = (value in SUBGROUP_TEXT_COLUMNS or value in SUBGROUP_INDICATOR_COLUMNS
              or (value.startswith(SUBGROUP_INDICATOR_PREFIXES) and re.fullmatch(r"[a-z][a-z0-9_]*", value)))
        if not ok:
            raise ValueError(
                f"not a patient-level categorical column; allowed: {', '.join(SUBGROUP_TEXT_COLUMNS)}, "
                f"{', '.join(SUBGROUP_INDICATOR_COLUMNS)}, or a column starting with "
                f"{', '.join(SUBGROUP_INDICATOR_PREFIXES)}"
            )
        return value

    @field_validator("groups")
    @classmethod
    def _two_distinct_groups(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and len(value) < 2:
            raise ValueError(f"at least two groups are needed, got {list(value)}")
        if value is not None and len(set(value)) != len(value):
            raise ValueError(f"the groups must differ, got {list(value)}")
        return value

    @model_validator(mode="after")
    def _labels_cover_groups(self) -> SubgroupSpec:
        if self.groups is not None:
            extra = [g for g in self.labels if g not in self.groups]
            if extra:
                raise ValueError(f"subgroup.labels: {extra} are not among subgroup.groups {list(self.groups)}")
        return self

    def label(self, group: str) -> str:
        """The printed label of a group: the plan's, else the level itself."""
        return self.labels.get(group, group)

    @property
    def name(self) -> str:
        """The variable as table titles say it ('antibody group', 'HRCT pattern', 'concomitant mmf')."""
        return _SUBGROUP_NAMES.get(self.variable, self.variable.replace("_", " "))

    @property
    def groups_phrase(self) -> str:
        """'antibody groups', 'HRCT pattern groups': the groups as a plural noun."""
        return f"{self.name}s" if self.name.endswith("group") else f"{self.name} groups"


class RegressionSpec(_Strict):
    outcome: str = Field(default="hrct_total_change", description="Dependent variable (column of the analysis dataset)")
    predictors: tuple[str, ...] = Field(
        default=("hrct_consolidation_baseline", "hrct_ggo_baseline", "ever_smoker", "hrct_total_baseline"),
        description="Predictors: <outcome>_baseline|_follow_up|_change or one of " + ", ".join(COVARIATE_PREDICTORS),
    )
    robust_se: RobustSe = Field(
        default=conv.DEFAULT_ROBUST_SE,
        description="Coefficient SEs: none = ordinary OLS (SPSS default); hc3 = HC3 robust SE, CI, t, p"
    )

    @field_validator("predictors")
    @classmethod
    def _some_predictors(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("at least one predictor is needed")
        if len(set(v)) != len(v):
            raise ValueError(f"predictors are repeated: {list(v)}")
        return v


class CorrelationSpec(_Strict):
    outcomes: tuple[str, ...] = Field(
        default=OUTCOME_CODES[:8], description="Outcomes whose changes enter the Spearman matrix (Figure 3)"
    )
    adjust: Adjust = Field(
        default="holm", description="Multiplicity adjustment shown ALONGSIDE the raw p (stars use the raw p)"
    )


class StatisticsSpec(_Strict):
    quantile_method: QuantileMethod = Field(
        default=conv.DEFAULT_QUANTILE_METHOD,
        description="Quartiles: spss = Hyndman-Fan 6 (SPSS, Prism); r7 = R default; tukey = hinges"
    )
    continuous_summary: ContinuousSummary = Field(
        default="median_iqr", description="How continuous variables are printed in Tables 1, 2, 4 and 5"
    )
    zero_method: ZeroMethod = Field(
        default=conv.DEFAULT_ZERO_METHOD,
        description="Wilcoxon zero differences: wilcox = dropped (SPSS); pratt = ranked then dropped"
    )
    continuity: bool = Field(
        default=conv.DEFAULT_CONTINUITY, description="Wilcoxon continuity correction (False = SPSS; True = R)"
    )
    wilcoxon_method: WilcoxonMethod = Field(
        default=conv.DEFAULT_WILCOXON_METHOD,
        description="Wilcoxon p: asymptotic = normal, tie-corrected (SPSS); exact; auto = exact when no ties and "
        "at most 25 non-zero differences, else asymptotic",
    )
    effect_size_n: EffectSizeN = Field(
        default=conv.DEFAULT_EFFECT_SIZE_N,
        description="N in r = |z| / sqrt(N): pairs, nonzero, or observations (2 x pairs)"
    )
    mann_whitney_method: MannWhitneyMethod = Field(
        default=conv.DEFAULT_MANN_WHITNEY_METHOD,
        description="Mann-Whitney p: asymptotic = normal, tie-corrected (SPSS); exact"
    )
    mann_whitney_continuity: bool = Field(
        default=conv.DEFAULT_CONTINUITY, description="Mann-Whitney continuity correction"
    )
    tie_decimals: int | None = Field(
        default=conv.DEFAULT_TIE_DECIMALS, ge=0, le=conv.MAX_TIE_DECIMALS,
        description="Rank tests: values equal to this many decimals tie (null = exact doubles, as R's default)",
    )
    bootstrap_resamples: int = Field(
        default=conv.DEFAULT_BOOTSTRAP_RESAMPLES, ge=100, description="Bootstrap resamples for the median change CI"
    )
    seed: int = Field(default=20250101, ge=0, description="Seed of the bootstrap (recorded in every output)")
    bootstrap_ci_method: CiMethod = Field(
        default=conv.DEFAULT_CI_METHOD, description="Bootstrap interval: percentile or bca"
    )
    confidence: float = Field(
        default=conv.DEFAULT_CONFIDENCE, gt=0.5, lt=1.0, description="Confidence level of every interval"
    )
    alpha: float = Field(default=0.05, gt=0.0, lt=0.5, description="Significance level named in the report")


class FigureSpec(_Strict):
    box_plot_outcomes: tuple[str, ...] = Field(
        default=("hrct_total", "hrct_ggo", "hrct_consolidation", "hrct_fibrosis", "hrct_honeycombing", "mmrc", "esr",
                 "crp"),
        description="Outcomes drawn in the before/after box plots (Figure 2), in panel order",
    )
    paired_lines: bool = Field(default=False, description="Draw a line per patient between the two boxes")
    whiskers: WhiskerRule = Field(
        default=conv.DEFAULT_WHISKER_RULE,
        description="Box-plot whiskers: minmax (Prism default) or tukey (1.5 x IQR, outliers shown)"
    )
    dpi: int = Field(default=300, ge=72, le=1200, description="Resolution of the PNG figures (journals ask 300+)")


class AdverseEventsSpec(_Strict):
    """Lab-derived adverse events: which rules run (they depend on the drug) and the limits of normal they need."""

    lab_rules: tuple[Literal[tuple(LAB_RULES)], ...] = Field(  # type: ignore[valid-type]
        default=DEFAULT_LAB_RULES,
        description="Lab rules: hypomagnesaemia (CTCAE), aki (KDIGO), neutropenia and alt_increase (CTCAE v5.0)",
    )
    neutrophils_lln: float = Field(
        default=2.0, gt=0.5, lt=10, description="Lower limit of normal of the neutrophil count, 10^9/L (neutropenia)"
    )
    alt_uln: float = Field(default=40.0, gt=0, le=1000, description="Upper limit of normal of ALT, U/L (alt_increase)")

    @field_validator("lab_rules")
    @classmethod
    def _unique(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(v)) != len(v):
            raise ValueError(f"lab rules are repeated: {list(v)}")
        return v

    def rules(self) -> LabRules:
        return LabRules(tuple(self.lab_rules), self.neutrophils_lln, self.alt_uln)


class VariableSpec(_Strict):
    """A measurement variable the built-in catalogue lacks, declared by the study (issue 11 item 2)."""

    code: str = Field(description="Code written in the measurements table's variable column (lower case, digits, _)")
    label: str = Field(description="Label printed in messages and tables")
    unit: str = Field(description="Canonical unit: values are converted to it on load")
    units: dict[str, float] = Field(
        default_factory=dict,
        description="Other accepted units: unit -> factor, canonical = value x factor (the canonical unit is 1)",
    )
    range: tuple[float, float] = Field(description="Plausible range [low, high] in the canonical unit")
    integer: bool = Field(default=False, description="Values must be whole numbers")
    better: Better | None = Field(
        default=None, description="Which change is an improvement when it is an outcome: lower or higher"
    )
    panel: str | None = Field(
        default=None, description="Measured together with (follow_up_rule latest_complete_visit): a panel such as "
        "lung_function or clinic_visit (default: a panel of its own)"
    )
    decimals: int | None = Field(default=None, ge=0, le=6, description="Decimals printed for its summaries (default: "
                                 "the journal style's, 1)")

    def measurement_variable(self) -> MeasurementVariable:
        return MeasurementVariable(self.code, self.label, self.unit, self.range[0], self.range[1], self.integer,
                                   self.better, self.panel or "", self.decimals)


_DRUG_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


def _check_names(names: tuple[str, ...]) -> tuple[str, ...]:
    if not names or any(not str(n).strip() for n in names):
        raise ValueError("at least one non-blank name is needed")
    return names


class ExposureSpec(_Strict):
    """The study drug: which treatments rows are the exposure (case-insensitive whole words of ``drug``)."""

    drug: str = Field(default="tacrolimus", description="The study drug (code)")
    label: str | None = Field(default=None, description="Name printed in texts (default: the drug)")
    names: tuple[str, ...] = Field(
        default=DEFAULT_EXPOSURE_NAMES, description="Names that identify it in treatments.drug (whole words)"
    )

    _names = field_validator("names")(classmethod(lambda cls, v: _check_names(v)))

    def matcher(self) -> DrugMatcher:
        return DrugMatcher(self.drug, tuple(self.names), self.label or self.drug)


class ConcomitantSpec(_Strict):
    """A drug whose use at exposure start becomes the 0/1 column ``concomitant_<code>`` of the analysis dataset."""

    code: str = Field(description="Code: the column is concomitant_<code> (lower case, digits, _)")
    label: str | None = Field(default=None, description="Name printed in tables (default: the code)")
    names: tuple[str, ...] = Field(description="Names that identify it in treatments.drug (whole words)")

    _names = field_validator("names")(classmethod(lambda cls, v: _check_names(v)))

    @field_validator("code")
    @classmethod
    def _code(cls, v: str) -> str:
        if not _DRUG_CODE.match(v):
            raise ValueError("a code is lower case letters, digits and '_' (e.g. mmf)")
        return v

    def matcher(self) -> DrugMatcher:
        return DrugMatcher(self.code, tuple(self.names), self.label or self.code)


class Table1Row(_Strict):
    """A Table 1 row (issue 11 item 4): a bare name in the plan, or a mapping that overrides the defaults."""

    variable: str = Field(description="Patient column, concomitant_<code> or <variable>_baseline")
    label: str | None = Field(default=None, description="Row label (default: the catalogue's)")
    section: str | None = Field(default=None, description="Section heading (default: the catalogue's)")
    kind: Literal["continuous", "binary", "categorical"] | None = Field(
        default=None, description="Override: categorical shows a numeric or 0/1 variable level by level"
    )
    levels: tuple[str, ...] | dict[str, str] | None = Field(
        default=None, description="Categorical: only these levels, in this order ({level: label} relabels them)"
    )

    @model_validator(mode="before")
    @classmethod
    def _bare_name(cls, data: Any) -> Any:
        return {"variable": data} if isinstance(data, str) else data

    def compact(self) -> str | dict[str, Any]:
        """How ``plan --default`` prints the row: the bare name when nothing is overridden."""
        given = {k: v for k, v in self.model_dump(mode="json").items() if v is not None}
        return self.variable if list(given) == ["variable"] else given


def _default_table1() -> tuple[Table1Row, ...]:
    return tuple(Table1Row.model_validate(r) for r in DEFAULT_TABLE1)
# --- timepoints (issue 11 item 6): baseline window and follow-up rule; one source of truth with clinical ---
class FollowUpSpec(_Strict):
    """How each outcome's follow-up value is chosen: the last one on treatment, or one value per landmark."""

    rule: Literal["last_on_treatment", "landmarks"] = Field(
        default="last_on_treatment",
        description="last_on_treatment = the latest value after start up to the end of treatment (measurements by "
        "clinical.follow_up_rule, HRCT the latest usable scan); landmarks = the value closest to each landmark",
    )
    months: tuple[int, ...] = Field(
        default=(), description="Landmarks in calendar months after exposure start, e.g. [6, 12] (rule: landmarks)"
    )
    window_days: int | None = Field(
        default=None, ge=0, le=366,
        description="A landmark value lies within +/- this many days of the landmark date, e.g. 45 (rule: landmarks)",
    )
    analysis_month: int | None = Field(
        default=None,
        description="Landmark whose change the correlation matrix, regression, box plots and Tables 4-5 use "
        "(rule: landmarks; default the last landmark)",
    )


class TimepointsSpec(_Strict):
    """Baseline window and follow-up rule. ``baseline_window_days`` IS ``clinical.baseline_window_days``: give
    either (or both, equal); different values are a plan error naming both keys."""

    baseline_window_days: int = Field(
        default=90, ge=0, description="Baseline = the value closest to start within [start - window, start] (the "
        "same setting as clinical.baseline_window_days)",
    )
    follow_up: FollowUpSpec = Field(default_factory=FollowUpSpec, description="Follow-up rule")


def _one_baseline_window(data: Any) -> Any:
    """Plan input -> ``timepoints.baseline_window_days`` and ``clinical.baseline_window_days`` agree (one value)."""
    if not isinstance(data, dict):
        return data
    clinical, tp = data.get("clinical"), data.get("timepoints")
    c_set = isinstance(clinical, dict) and "baseline_window_days" in clinical
    t_set = isinstance(tp, dict) and "baseline_window_days" in tp
    if c_set and not t_set and isinstance(clinical["baseline_window_days"], int):
        tp = dict(tp) if isinstance(tp, dict) else ({} if tp is None else tp)
        if isinstance(tp, dict):
            data = {**data, "timepoints": {**tp, "baseline_window_days": clinical["baseline_window_days"]}}
    return data


@plan_check("timepoints")
def _check_follow_up(plan: AnalysisPlan) -> typing.Iterator[tuple[str, str]]:
    """The keys that the follow-up rule needs, and only those."""
    fu, key = plan.timepoints.follow_up, "timepoints.follow_up"
    if fu.rule == "last_on_treatment":
        for name in ("months", "window_days", "analysis_month"):
            if getattr(fu, name) not in ((), None):
                yield f"{key}.{name}", "only used with rule: landmarks (rule is last_on_treatment)"
        return
    if not fu.months:
        yield f"{key}.months", "rule: landmarks needs at least one landmark month, e.g. [6, 12]"
    elif any(m < 1 for m in fu.months):
        yield f"{key}.months", f"landmarks are whole months after start, 1 or more; got {list(fu.months)}"
    elif list(fu.months) != sorted(set(fu.months)):
        yield f"{key}.months", f"landmarks must be increasing without repeats; got {list(fu.months)}"
    if fu.window_days is None:
        yield f"{key}.window_days", "rule: landmarks needs the window, e.g. window_days: 45"
    if fu.analysis_month is not None and fu.analysis_month not in fu.months:
        yield f"{key}.analysis_month", f"{fu.analysis_month} is not one of the landmarks {list(fu.months)}"


@plan_check("timepoints", "clinical")
def _check_baseline_window(plan: AnalysisPlan) -> typing.Iterator[tuple[str, str]]:
    """Both keys given with different values (one given alone is copied to the other on input)."""
    given = plan.clinical.get("baseline_window_days", plan.timepoints.baseline_window_days)
    if given != plan.timepoints.baseline_window_days:
        yield ("timepoints.baseline_window_days",
               f"{plan.timepoints.baseline_window_days!r} differs from clinical.baseline_window_days ({given!r}); "
               "they are one setting: give it once")


def _default_outcomes() -> tuple[OutcomeSpec, ...]:
    rows = (
        ("hrct_total", "Total HRCT score", None),
        ("hrct_ggo", "GGO", None),
        ("hrct_fibrosis", "Fibrosis", None),
        ("hrct_honeycombing", "HCs", None),
        ("hrct_consolidation", "Consolidation", None),
        ("mmrc", "mMRC grade", None),
        ("esr", "ESR", "mm/h"),
        ("crp", "CRP", "mg/L"),
        ("methylprednisolone_dose", "MPRED", "mg/d"),
    )
    return tuple(OutcomeSpec(code=c, label=lab, unit=u) for c, lab, u in rows)


class AnalysisPlan(_Strict):
    """The whole analysis plan; ``AnalysisPlan()`` is the default that reproduces the reference study."""

    title: str = Field(
        default="Tacrolimus in interstitial pneumonia with autoimmune features (IPAF): treatment response",
        description="Report title",
    )
    outcomes: tuple[OutcomeSpec, ...] = Field(default_factory=_default_outcomes, description="Outcomes, in table order")
    primary_outcome: str = Field(default="hrct_total", description="Primary outcome (one of the outcome codes)")
    subgroup: SubgroupSpec = Field(default_factory=SubgroupSpec, description="Subgroup comparison (Tables 4 and 5)")
    regression: RegressionSpec = Field(default_factory=RegressionSpec, description="Linear regression (Table 3)")
    correlation: CorrelationSpec = Field(default_factory=CorrelationSpec, description="Spearman matrix of changes")
    statistics: StatisticsSpec = Field(default_factory=StatisticsSpec, description="Statistical conventions")
    figures: FigureSpec = Field(default_factory=FigureSpec, description="Figures")
    journal_style: str = Field(default="default", description="Journal style of numbers and p values in the report")
    page_size: Literal["A4", "Letter"] = Field(default="A4", description="Page size of report.docx (and printed HTML)")
    exposure: ExposureSpec = Field(default_factory=ExposureSpec, description="The study drug (exposure)")
    concomitant: tuple[ConcomitantSpec, ...] = Field(
        default=(),
        description="Drugs at exposure start, each a 0/1 column concomitant_<code> usable as a regression "
        "predictor, e.g. [{code: mmf, label: MMF, names: [mycophenolate, MMF, CellCept]}]",
    )
    adverse_events: AdverseEventsSpec = Field(
        default_factory=AdverseEventsSpec, description="Lab-derived adverse events (Table 6)"
    )
    variables: tuple[VariableSpec, ...] = Field(
        default=(),
        description="Measurement variables the built-in catalogue lacks, e.g. [{code: ldh, label: LDH, "
        "unit: U/L, units: {ukat/L: 60}, range: [0, 10000], integer: false}]",
    )
    table1: tuple[Table1Row, ...] = Field(
        default_factory=_default_table1,
        description="Table 1 rows, e.g. [age_at_start, sex, smoking, antibody_group, hrct_pattern, "
        "fvc_pct_pred_baseline, concomitant_mmf, {variable: antibody_group, levels: [MSA, MAA]}]",
    )
    table1_by_subgroup: bool = Field(
        default=False, description="Table 1 also shows a column per subgroup (plan subgroup) and the test per row"
    )
    additional: AdditionalSpec = Field(
        default_factory=AdditionalSpec, description="Additional analyses (issue 12), each optional: appended to the "
        "report after its tables"
    )
    timepoints: TimepointsSpec = Field(
        default_factory=TimepointsSpec,
        description="Baseline window and follow-up rule (last on treatment or landmarks)",
    )
    clinical: dict[str, Any] = Field(
        default_factory=dict, description="Clinical SETTINGS (ClinicalSettings); omitted keys keep their defaults"
    )

    _timepoints_in = model_validator(mode="before")(classmethod(lambda cls, data: _one_baseline_window(data)))

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> AnalysisPlan:
        """Fill the outcomes from the catalogue, then run every registered plan check (``plancheck.plan_check``);
        all problems are raised at once, or handed to the caller's list when it validates with
        ``context={plancheck.SINK: [...]}`` (``plan --check``)."""
        context = info.context or {}
        skip = set(context.get(SKIP, ()))
        problems: list[PlanProblem] = []
        try:
            catalogue = self.variable_catalogue
        except UnknownUnitError:
            catalogue = None  # the variables check reports it; outcomes cannot be resolved against it
            skip.add("outcomes")
        if catalogue is not None:
            try:
                object.__setattr__(self, "outcomes", resolve_outcomes(self.outcomes, catalogue))
            except ValueError as exc:
                problems.extend(PlanProblem(*line.strip().split(": ", 1)) for line in str(exc).split("\n"))
                skip.add("outcomes")  # unresolved outcomes: the checks reading them would only repeat the problem
        problems.extend(run_plan_checks(self, skip))
        sink = context.get(SINK)
        if sink is not None:
            sink.extend(problems)
        elif problems:
            raise PlanProblemsError(sort_problems(problems))
        return self

    @property
    def settings(self) -> ClinicalSettings:
        """The clinical settings; ``baseline_window_days`` comes from ``timepoints`` (one source of truth)."""
        return ClinicalSettings.from_dict({**self.clinical,
                                           "baseline_window_days": self.timepoints.baseline_window_days})

    @property
    def landmarks(self) -> tuple[int, ...]:
        """Landmark months (empty under ``follow_up.rule: last_on_treatment``)."""
        fu = self.timepoints.follow_up
        return tuple(fu.months) if fu.rule == "landmarks" else ()

    @property
    def analysis_landmark(self) -> int | None:
        """The landmark the single-follow-up analyses use (correlation, regression, box plots, Tables 4-5)."""
        if not self.landmarks:
            return None
        return self.timepoints.follow_up.analysis_month or self.landmarks[-1]

    @property
    def exposure_drug(self) -> DrugMatcher:
        return self.exposure.matcher()

    @property
    def drug_label(self) -> str:
        """The study drug as texts print it mid-sentence ('tacrolimus'); ``drug_title`` starts a sentence."""
        return self.exposure.label or self.exposure.drug

    @property
    def drug_title(self) -> str:
        label = self.drug_label
        return label[:1].upper() + label[1:]

    @property
    def concomitant_drugs(self) -> tuple[DrugMatcher, ...]:
        return tuple(c.matcher() for c in self.concomitant)

    @property
    def variable_catalogue(self) -> VariableCatalogue:
        """Built-in measurement variables plus the plan's declared ones (what loading and validation accept)."""
        if not self.variables:
            return BUILTIN_VARIABLES
        return BUILTIN_VARIABLES.with_declared(
            [v.measurement_variable() for v in self.variables], {v.code: v.units for v in self.variables}
        )

    @property
    def print_decimals(self) -> dict[str, int]:
        """Decimals per variable or outcome code that differ from the journal style's: the catalogue's, then the
        outcomes' own (a plan can print FVC in mL without decimals and a declared marker with two)."""
        out = {c: v.decimals for c, v in self.variable_catalogue.variables.items() if v.decimals is not None}
        out.update({o.code: o.decimals for o in self.outcomes if o.decimals is not None})
        return out

    def table1_lookups(self) -> dict[str, Any]:
        """Keyword arguments of ``table1_variable``: the plan's concomitant drugs, outcomes and variables."""
        cat = self.variable_catalogue
        return {
            "concomitant": {c.code: c.label or c.code for c in self.concomitant},
            "outcomes": {o.code: (o.label, o.unit) for o in self.outcomes},
            "measurements": {c: (v.label, v.canonical_unit) for c, v in cat.variables.items()},
        }

    def table1_variables(self) -> tuple[Table1Variable, ...]:
        """Each plan row resolved: catalogue defaults with the row's overrides (label, section, kind, levels)."""
        out = []
        for row in self.table1:
            found = table1_variable(row.variable, **self.table1_lookups())
            if found is None:
                raise KeyError(row.variable)
            levels = found.levels
            if isinstance(row.levels, dict):
                levels = tuple(row.levels.items())
            elif row.levels is not None:
                levels = tuple((lv, found.level_label(lv)) for lv in row.levels)
            label = (row.label or found.label).replace("{drug}", self.drug_label)  # catalogue labels are templates
            out.append(Table1Variable(row.variable, label, row.section or found.section, row.kind or found.kind,
                                      levels, levels_only=row.levels is not None))
        return tuple(out)

    @property
    def table1_baseline_variables(self) -> tuple[str, ...]:
        """Measurement variables whose baseline Table 1 shows but which are not outcomes (the cohort adds them)."""
        measured = set(self.table1_lookups()["measurements"]) - set(self.outcome_codes)
        codes = (r.variable.removesuffix("_baseline") for r in self.table1 if r.variable.endswith("_baseline"))
        return tuple(dict.fromkeys(c for c in codes if c in measured))

    @property
    def outcome_codes(self) -> tuple[str, ...]:
        return tuple(o.code for o in self.outcomes)

    def outcome(self, code: str) -> OutcomeSpec:
        for o in self.outcomes:
            if o.code == code:
                return o
        raise KeyError(f"outcome {code!r} is not in the plan; outcomes are {list(self.outcome_codes)}")

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping, complete: clinical settings are expanded to every value actually used."""
        out = self.model_dump(mode="json")
        out["clinical"] = self.settings.to_dict()
        return out


#: Labels of the HRCT scores when a plan omits them (the default plan names its own).
HRCT_LABELS: dict[str, str] = {
    "hrct_total": "Total HRCT score", "hrct_ggo": "GGO", "hrct_fibrosis": "Fibrosis",
    "hrct_honeycombing": "Honeycombing", "hrct_consolidation": "Consolidation",
}
_IN_LABEL = r"(?:^|[\s,(]){unit}(?:$|[\s,)])"


def _catalogue_unit(var: MeasurementVariable, label: str) -> str | None:
    """The unit printed after ``label``: the canonical unit, none for a score (mMRC) or when the label says it."""
    unit = var.canonical_unit
    if unit == var.code or re.search(_IN_LABEL.format(unit=re.escape(unit)), label):
        return None
    return unit


def resolve_outcomes(outcomes: typing.Sequence[OutcomeSpec], catalogue: VariableCatalogue) -> tuple[OutcomeSpec, ...]:
    """Fill each outcome's omitted label, unit and better from the catalogue; every problem at once, with its key.

    Why an error when neither the outcome nor the variable states ``better``: for a trough level or a
    neutrophil count neither direction is an improvement in general, and a guessed direction would make the
    summary call a harmful change "improved".
    """
    problems: list[str] = []
    out: list[OutcomeSpec] = []
    allowed = (*HRCT_OUTCOMES, *sorted(catalogue.variables))
    for i, o in enumerate(outcomes):
        where = f"outcomes[{i}]"
        decimals = None
        if o.code in HRCT_OUTCOMES:
            label, unit, better = HRCT_LABELS[o.code], None, "lower"
        elif o.code in catalogue.variables:
            var = catalogue.variables[o.code]
            label = o.label if o.label is not None else var.label
            unit, better, decimals = _catalogue_unit(var, label), var.better, var.decimals
        else:
            resolved = catalogue.resolve(o.code)
            spelled = UNIT_DEPENDENT_ALIASES.get(variable_token(o.code), ())
            hint = (f"it is a spelling of {resolved!r}, write that code" if resolved and resolved in catalogue.variables
                    else f"write the code it is stored under: {' or '.join(spelled)}" if spelled
                    else f"declare it under variables, e.g. variables: [{{code: {variable_token(o.code)}, label: ..., "
                    "unit: ..., range: [LOW, HIGH], better: lower}]")
            problems.append(f"{where}.code: {o.code!r} is not an HRCT score or a measurement variable ({hint}); "
                            f"allowed: {', '.join(allowed)}")
            continue
        fields = o.model_fields_set
        chosen = o.better or better
        if chosen is None:
            problems.append(f"{where}.better: {o.code!r} has no default direction (neither lower nor higher is better "
                            "in general); add better: lower or better: higher to the outcome"
                            + (" or to its declaration under variables" if o.code in catalogue.declared else ""))
            continue
        out.append(OutcomeSpec(code=o.code, label=o.label if o.label is not None else label,
                               unit=o.unit if "unit" in fields else unit, better=chosen,
                               decimals=o.decimals if o.decimals is not None else decimals))
    if problems:
        raise ValueError("\n  ".join(problems))
    return tuple(out)


# --- plan checks (cross-section rules; see analysis/plancheck.py and docs/analysis.md "Plan problems") -------------


@plan_check("variables")
def _check_variables(plan: AnalysisPlan) -> typing.Iterator[tuple[str, str]]:
    """Each declared variable against the built-in catalogue (one at a time, so each problem gets its index)."""
    seen: dict[str, int] = {}
    for i, v in enumerate(plan.variables):
        if v.code in seen:
            yield f"variables[{i}].code", f"{v.code!r} is declared twice (also variables[{seen[v.code]}])"
            continue
        seen[v.code] = i
        try:
            BUILTIN_VARIABLES.with_declared([v.measurement_variable()], {v.code: v.units})
        except UnknownUnitError as exc:
            for part in str(exc).split("; "):
                text = part.removeprefix(f"variables[{v.code}]: ")
                first = re.split(r"[ .:]", text, maxsplit=1)[0]
                yield f"variables[{i}].{first if first in VariableSpec.model_fields else 'code'}", text


@plan_check("clinical")
def _check_clinical(plan: AnalysisPlan) -> typing.Iterator[tuple[str, str]]:
    """ClinicalSettings does not check types; a plan must (``min_age: "x"`` is an error, not a crash later)."""
    known = ClinicalSettings().to_dict()
    typed = True
    for key, value in plan.clinical.items():
        if key not in known:
            typed = False
            yield f"clinical.{key}", f"unknown clinical setting; known settings are {sorted(known)}"
            continue
        problem = setting_type_problem(key, value, prefix="")
        if problem:
            typed = False
            yield f"clinical.{key}", problem.split(" = ", 1)[-1]
    if typed:
        try:
            ClinicalSettings.from_dict(dict(plan.clinical))
        except (InvalidOptionError, TypeError, ValueError) as exc:
            yield "clinical", str(exc)


_KIND_CHANGES = {("continuous", "categorical"), ("binary", "categorical")}


@plan_check("table1", "variables", "concomitant", "outcomes", "exposure")
def _check_table1(plan: AnalysisPlan) -> typing.Iterator[tuple[str, str]]:
    """Every Table 1 row names a variable that exists; kind and levels fit it (issue 11 item 4)."""
    lookups = plan.table1_lookups()
    choices = table1_choices(**lookups)
    for i, row in enumerate(plan.table1):
        key = f"table1[{i}]"
        found = table1_variable(row.variable, **lookups)
        if found is None:
            yield key, _unknown_table1_row(row.variable, choices)
            continue
        kind = row.kind or found.kind
        if kind != found.kind and (found.kind, kind) not in _KIND_CHANGES:
            yield f"{key}.kind", (f"{row.variable} is {found.kind} and cannot be shown as {kind} (only a continuous "
                                  "or 0/1 variable can be shown as categorical)")
        if row.levels is not None and kind != "categorical":
            yield f"{key}.levels", f"only a categorical row has levels ({row.variable} is {kind})"
        if row.levels is not None and len(row.levels) == 0:
            yield f"{key}.levels", "give at least one level, or leave levels out to show every level"


@plan_check("outcomes")
def _check_outcomes(plan: AnalysisPlan) -> typing.Iterator[tuple[str, str]]:
    if not plan.outcomes:
        yield "outcomes", "at least one outcome is needed"
    first: dict[str, int] = {}
    for i, o in enumerate(plan.outcomes):
        if o.code in first:
            yield f"outcomes[{i}].code", f"{o.code!r} is repeated (also outcomes[{first[o.code]}])"
        first.setdefault(o.code, i)
    labels: dict[str, int] = {}
    for i, o in enumerate(plan.outcomes):
        if o.label in labels:
            yield (f"outcomes[{i}].label", f"{o.label!r} is also the label of outcomes[{labels[o.label]}]; labels must "
                   "differ (they name table rows and figure panels)")
        labels.setdefault(o.label, i)


@plan_check("outcomes", "primary_outcome")
def _check_primary(plan: AnalysisPlan) -> typing.Iterator[tuple[str, str]]:
    codes = list(plan.outcome_codes)
    if plan.primary_outcome not in codes:
        yield "primary_outcome", f"{plan.primary_outcome!r} is not one of the plan's outcomes {codes}"


@plan_check("outcomes", "correlation", "figures")
def _check_outcome_lists(plan: AnalysisPlan) -> typing.Iterator[tuple[str, str]]:
    codes = list(plan.outcome_codes)
    for key, values in (("correlation.outcomes", plan.correlation.outcomes),
                        ("figures.box_plot_outcomes", plan.figures.box_plot_outcomes)):
        for i, v in enumerate(values):
            if v not in codes:
                yield f"{key}[{i}]", f"{v!r} is not among the plan's outcomes {codes}"
    if len(plan.correlation.outcomes) < 2:
        yield "correlation.outcomes", "at least two outcomes are needed for a matrix"


@plan_check("exposure", "concomitant")
def _check_concomitant(plan: AnalysisPlan) -> typing.Iterator[tuple[str, str]]:
    first: dict[str, int] = {}
    study_drug = plan.exposure.matcher()
    for i, c in enumerate(plan.concomitant):
        if c.code in first:
            yield f"concomitant[{i}].code", f"{c.code!r} is repeated (also concomitant[{first[c.code]}])"
        first.setdefault(c.code, i)
        clash = [n for n in c.names if study_drug.matches(n)]
        if clash:
            yield (f"concomitant[{i}].names", f"{clash} also name the exposure drug {plan.exposure.drug!r}; a drug "
                   "cannot be concomitant to itself")


@plan_check("subgroup", "concomitant")
def _check_subgroup(plan: AnalysisPlan) -> typing.Iterator[tuple[str, str]]:
    sub, conc = plan.subgroup.variable, [c.code for c in plan.concomitant]
    if sub.startswith("concomitant_") and sub.removeprefix("concomitant_") not in conc:
        yield "subgroup.variable", (f"{sub!r} names no concomitant drug of the plan (concomitant codes: {conc}); add "
                                    "it to concomitant or pick another variable")


@plan_check("outcomes", "concomitant", "regression", "timepoints")
def _check_regression(plan: AnalysisPlan) -> typing.Iterator[tuple[str, str]]:
    allowed = allowed_model_columns(plan.outcome_codes) | {f"concomitant_{c.code}" for c in plan.concomitant} | {
        f"{c}_{s}m{m}" for c in plan.outcome_codes for m in plan.landmarks for s in ("", "change_")}  # landmarks
    hint = f"allowed: {sorted(allowed)}"
    if plan.regression.outcome not in allowed:
        yield "regression.outcome", f"{plan.regression.outcome!r} is not a known variable; {hint}"
    for i, col in enumerate(plan.regression.predictors):
        if col not in allowed:
            yield f"regression.predictors[{i}]", f"{col!r} is not a known variable; {hint}"
        elif col == plan.regression.outcome:
            yield f"regression.predictors[{i}]", f"{col!r} is the outcome; it cannot also be a predictor"


@plan_check("additional", "outcomes", "primary_outcome")
def _check_additional(plan: AnalysisPlan) -> typing.Iterator[tuple[str, str]]:
    yield from plan.additional.outcome_problems(plan.outcome_codes)


def allowed_model_columns(outcome_codes: typing.Iterable[str]) -> set[str]:
    cols = {f"{c}_{s}" for c in outcome_codes for s in OUTCOME_SUFFIXES}
    return cols | set(COVARIATE_PREDICTORS)


def variable_label(column: str, plan: AnalysisPlan) -> str:
    """Human label for a column of the analysis dataset ('hrct_ggo_baseline' -> 'Baseline GGO')."""
    if column in COVARIATE_PREDICTORS:
        return COVARIATE_PREDICTORS[column].format(drug=plan.drug_label)
    for c in plan.concomitant:
        if column == f"concomitant_{c.code}":
            return f"Concomitant {c.label or c.code}"
    for code in plan.outcome_codes:
        for m in plan.landmarks:
            if column in (f"{code}_m{m}", f"{code}_change_m{m}"):
                label = plan.outcome(code).label
                return f"Δ {label} at month {m}" if "_change_" in column else f"{label} at month {m}"
        for suffix, word in OUTCOME_SUFFIXES.items():
            if column == f"{code}_{suffix}":
                label = plan.outcome(code).label
                if suffix == "change":
                    return f"Δ {label}"
                lowered = label if label[:2].isupper() else label[:1].lower() + label[1:]
                return f"{word} {lowered}"
    return column


def field_problems(exc: ValidationError) -> list[PlanProblem]:
    """pydantic's errors (all fields at once) as plan problems with their keys (``outcomes[1].code``)."""
    from ipafstudy.analysis.plancheck import loc_key

    problems = []
    for err in exc.errors():
        key = loc_key(err["loc"])
        value = err.get("input")
        msg = err["msg"].removeprefix("Value error, ")
        cause = err.get("ctx", {}).get("error")
        if isinstance(cause, PlanProblemsError):  # the plan checks, raised at once by _consistent
            problems.extend(cause.problems)
        elif err["type"] == "extra_forbidden":
            problems.append(PlanProblem(key, "unknown key (check the spelling; `ipafstudy plan --default` lists "
                                             "every key)"))
        elif err["type"] in {"literal_error", "enum"}:
            expected = err.get("ctx", {}).get("expected", "")
            problems.append(PlanProblem(key, f"{value!r} is not allowed; expected one of {expected}"))
        elif err["type"] == "missing":
            problems.append(PlanProblem(key, "missing (this key is required)"))
        elif isinstance(value, str | int | float | bool) or value is None:
            problems.append(PlanProblem(key, f"{value!r}: {msg}"))
        else:
            problems.append(PlanProblem(key, msg))
    return problems


def plan_from_dict(data: Any, *, source: str = "(mapping)") -> AnalysisPlan:
    """Validate a mapping into a plan; every problem is reported at once, each with its key."""
    from ipafstudy.analysis.plancheck import check_plan_mapping

    checked = check_plan_mapping(data)
    if checked.problems or checked.plan is None:
        raise PlanProblemsError(checked.problems, source)
    return checked.plan


def read_plan_yaml(path: str | Path) -> Any:
    """The parsed YAML of a plan file (not yet validated); a missing or unparsable file is an error."""
    p = Path(path)
    if not p.is_file():
        raise InvalidOptionError(f"analysis plan {str(p)!r} does not exist")
    try:
        return yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InvalidOptionError(f"analysis plan {str(p)!r} is not valid YAML: {exc}") from None
    except ValueError as exc:  # PyYAML builds dates itself: 2024-13-01 fails inside the parser
        raise InvalidOptionError(f"analysis plan {str(p)!r}: {exc} (a date must be YYYY-MM-DD)") from None


def load_plan(path: str | Path) -> AnalysisPlan:
    """Read and validate a YAML plan file (every static problem at once)."""
    return plan_from_dict(read_plan_yaml(path), source=repr(str(Path(path))))


def _yaml_scalar(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, sort_keys=False, width=10_000)
    return text.strip().removesuffix("...").strip()


def _allowed_note(annotation: Any) -> str:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is Literal:
        return " [one of: " + ", ".join(map(str, args)) + "]"
    return ""


def _dump_model(model: BaseModel, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if info.description:
            lines.append(f"{pad}# {info.description}{_allowed_note(info.annotation)}")
        if isinstance(value, BaseModel):
            lines.append(f"{pad}{name}:")
            lines.extend(_dump_model(value, indent + 2))
        elif isinstance(value, tuple) and value and isinstance(value[0], BaseModel):
            lines.append(f"{pad}{name}:")
            for item in value:
                if hasattr(item, "compact"):  # table1 rows: one line each, a bare name when nothing is overridden
                    lines.append(f"{pad}  - {_yaml_scalar(item.compact())}")
                    continue
                dumped = item.model_dump(mode="json")
                first = True
                for k, v in dumped.items():
                    lines.append(f"{pad}  {'- ' if first else '  '}{k}: {_yaml_scalar(v)}")
                    first = False
        elif name == "clinical":
            lines.append(f"{pad}{name}:")
            for s_name, default, doc in describe_settings():
                lines.append(f"{pad}  # {doc}")
                shown = value.get(s_name, default)  # the plan's own value, else the default
                shown = shown.isoformat() if hasattr(shown, "isoformat") else shown
                lines.append(f"{pad}  {s_name}: {_yaml_scalar(shown)}")
        elif isinstance(value, dict):
            lines.append(f"{pad}{name}:")
            for k, v in value.items():
                lines.append(f"{pad}  {k}: {_yaml_scalar(v)}")
        elif isinstance(value, tuple):
            lines.append(f"{pad}{name}: {_yaml_scalar(list(value))}")
        else:
            lines.append(f"{pad}{name}: {_yaml_scalar(value)}")
    return lines


def default_plan_yaml() -> str:
    """The default plan as commented YAML; loading it back gives ``AnalysisPlan()``."""
    header = [
        "# ipafstudy analysis plan. The defaults reproduce the reference study's analysis with",
        "# SPSS/Prism conventions. Edit a copy and run: ipafstudy analyze DATA --out DIR --plan plan.yaml",
    ]
    return plan_yaml(AnalysisPlan(), header)


def plan_yaml(plan: AnalysisPlan, header: list[str]) -> str:
    """Any plan as commented YAML (every key with its description) under ``header`` comment lines."""
    return "\n".join(header + _dump_model(plan, 0)) + "\n"
