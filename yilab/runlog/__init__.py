"""The run log in SQLite: ``store.Store`` (schema only through ``migrations``, writes,
queries, full-text search), ``sweep_logger`` (one sweep's rows, never lost) and ``spill``
(where rows go while the log cannot be written).
"""
