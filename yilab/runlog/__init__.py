"""The run log in SQLite: ``store.Store`` (schema only through ``migrations``, writes,
queries), ``search`` (what a search finds, and its SQL), ``sweep_logger`` (one sweep's rows,
never lost) and ``spill`` (where rows go while the log cannot be written).
"""
