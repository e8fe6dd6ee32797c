"""The generator's default seed and screen size, in a module with no imports.

Why separate: ``ipafstudy synth --help`` prints these defaults, and the CLI must not import numpy and pandas
(the rest of the generator) just to print help.
"""

DEFAULT_SEED = 20250101
DEFAULT_N_SCREENED = 271
