"""ipafstudy: a clinical treatment-response cohort turned into a reproducible study."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ipafstudy")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
