"""Sharing run history: ``export.export_experiments`` (bundle, JSONL, CSV, HTML report) and
``export.import_bundle``; ``bundle`` builds bundles, ``validate`` checks them value by value,
``report`` renders the self-contained HTML report.
"""
