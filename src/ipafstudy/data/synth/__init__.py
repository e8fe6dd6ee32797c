"""Seeded example cohort: a model of screened IPAF patients, written in the CSV-folder format.

Why a model and not a table of published numbers: the demo and the test-suite need records that
behave like a real screen (people fail eligibility for real reasons, readers disagree, labs use
other units, the last visit is incomplete), so every number here comes from a patient-level model
(latent severity, antibody group, treatment response) drawn with a seeded generator. The
reference study's summary numbers appear in exactly one place, ``calibration.CALIBRATION_TARGETS``,
which the tuning report and the calibration test compare the generated eligible cohort against.

Modules: ``design`` (fates, centres, spellings, parameters), ``model`` (patient features and latent
HRCT extents), ``courses`` (treated courses: visits, labs, scans, adverse events), ``generate``
(``generate_cohort``), ``files`` (writing and the bundled copy), ``calibration`` (targets and the
tuning report). The model is documented in ``docs/synth.md``. Entry points::

    cohort = generate_cohort(seed=20250101)
    write_cohort(cohort, "out/example")
    python -m ipafstudy.cli.synth --refresh-bundled     # regenerate src/ipafstudy/example_data
    python -m ipafstudy.cli.synth --calibration         # intended summaries vs targets
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ipafstudy.data.synth.defaults import DEFAULT_N_SCREENED, DEFAULT_SEED, EXAMPLE_DEFAULTS, EXAMPLES

if TYPE_CHECKING:
    from ipafstudy.data.synth.calibration import (
        CALIBRATION_SOURCE,
        CALIBRATION_TARGETS,
        calibration_report,
        intended_summary,
    )
    from ipafstudy.data.synth.design import (
        ANTI_SYNTHETASE,
        DATA_CUTOFF,
        ENA_PANEL,
        FATE_ORDER,
        FIRST_START,
        GENERATOR_VERSION,
        GROUP_DESIGN,
        MAA_KEYS,
        MSA_KEYS,
        MYOSITIS_BLOT,
        SCREEN_DESIGN,
        SEROLOGIC_ITEM_KEYS,
        SITE_PROFILES,
        SPELLINGS,
        TREATED_IPAF_FATES,
        TRUTH_FILE,
        SiteProfile,
        SynthCohort,
    )
    from ipafstudy.data.synth.files import bundled_files, cohort_files, copy_bundled, refresh_bundled, write_cohort
    from ipafstudy.data.synth.generate import generate_cohort
    from ipafstudy.data.synth.mmf_fvc import generate_mmf_fvc

#: Where each public name lives. Imported on first use (PEP 562), so that ``ipafstudy synth --help`` and
#: ``ipafstudy.data.synth.defaults`` do not pay for numpy and pandas.
_HOMES: dict[str, tuple[str, ...]] = {
    "calibration": ("CALIBRATION_SOURCE", "CALIBRATION_TARGETS", "calibration_report", "intended_summary"),
    "design": (
        "ANTI_SYNTHETASE", "DATA_CUTOFF", "ENA_PANEL", "FATE_ORDER", "FIRST_START", "GENERATOR_VERSION", "GROUP_DESIGN",
        "MAA_KEYS", "MSA_KEYS", "MYOSITIS_BLOT", "SCREEN_DESIGN", "SEROLOGIC_ITEM_KEYS", "SITE_PROFILES", "SPELLINGS",
        "TREATED_IPAF_FATES", "TRUTH_FILE", "SiteProfile", "SynthCohort",
    ),
    "files": ("bundled_files", "cohort_files", "copy_bundled", "refresh_bundled", "write_cohort"),
    "generate": ("generate_cohort",),
    "mmf_fvc": ("generate_mmf_fvc",),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}


def generate_example(name: str, *, seed: int | None = None, n_screened: int | None = None) -> Any:
    """The cohort of the worked example ``name`` (``EXAMPLES``); seed and size default to the example's own."""
    if name not in EXAMPLES:
        from ipafstudy.errors import InvalidOptionError

        raise InvalidOptionError(f"unknown example {name!r}; examples are: {', '.join(EXAMPLES)}")
    default_seed, default_n = EXAMPLE_DEFAULTS[name]
    from ipafstudy.data.synth.mmf_fvc import generate_mmf_fvc

    return generate_mmf_fvc(seed=default_seed if seed is None else seed,
                            n_screened=default_n if n_screened is None else n_screened)


def __getattr__(name: str) -> Any:
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "ANTI_SYNTHETASE",
    "CALIBRATION_SOURCE",
    "CALIBRATION_TARGETS",
    "DATA_CUTOFF",
    "DEFAULT_N_SCREENED",
    "DEFAULT_SEED",
    "ENA_PANEL",
    "EXAMPLES",
    "EXAMPLE_DEFAULTS",
    "FATE_ORDER",
    "FIRST_START",
    "GENERATOR_VERSION",
    "GROUP_DESIGN",
    "MAA_KEYS",
    "MSA_KEYS",
    "MYOSITIS_BLOT",
    "SCREEN_DESIGN",
    "SEROLOGIC_ITEM_KEYS",
    "SITE_PROFILES",
    "SPELLINGS",
    "TREATED_IPAF_FATES",
    "TRUTH_FILE",
    "SiteProfile",
    "SynthCohort",
    "bundled_files",
    "calibration_report",
    "cohort_files",
    "copy_bundled",
    "generate_cohort",
    "generate_example",
    "generate_mmf_fvc",
    "intended_summary",
    "refresh_bundled",
    "write_cohort",
]
