"""cohort layer."""
