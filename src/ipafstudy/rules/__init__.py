"""Clinical rules: pure functions, no I/O (errors -> settings -> rules).

antibodies (names, MSA/MAA groups), ipaf (classification), hrct (visual score and consensus),
adverse_events (CTCAE Mg grade, KDIGO AKI), mmrc (dyspnoea scale), units (conversions),
common (RuleInputError, tri-state reading), drugs (which treatment rows are a drug). See docs/rules.md.
"""
