"""Data layer: schema, loaders, validation, data dictionary, example cohort."""
