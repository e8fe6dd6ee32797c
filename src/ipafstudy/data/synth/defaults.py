"""The generator's default seed and screen size, in a module with no imports.

Why separate: ``ipafstudy synth --help`` prints these defaults, and the CLI must not import numpy and pandas
(the rest of the generator) just to print help.
"""

DEFAULT_SEED = 20250101
DEFAULT_N_SCREENED = 271

EXAMPLES: dict[str, str] = {
    "mmf-fvc": "mycophenolate (MMF) in IPAF: visits every 3 months with FVC (mL, % predicted), DLCO, 6MWD, LDH; "
    "HRCT at 0 and 12 months; distractor drugs",
}
"""Worked example studies ``ipafstudy synth --example NAME`` writes (``ipafstudy plan --example NAME``: its plan)."""
EXAMPLE_DEFAULTS: dict[str, tuple[int, int]] = {"mmf-fvc": (20250311, 150)}
"""Default (seed, n_screened) of each example."""
