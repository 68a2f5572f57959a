"""``python -m yilab``: ``main`` parses and dispatches, one module per command group
(``inspect``, ``share``), ``display`` prints progress and run tables.
"""
