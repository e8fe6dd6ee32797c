"""OMOP CDM screening (issue 13): IPAF candidates from an OMOP Common Data Model database through Ibis.

Layer: between ``analysis`` and ``cohort`` (may import cohort, data, rules, stats, settings, fileio). Modules:
``cdm`` (tables, connection, checks), ``concepts`` (concept sets as data), ``synth`` (a synthetic CDM with a
known truth). Heavy libraries (ibis, duckdb, pyarrow, numpy) load only when these modules are imported.
"""
