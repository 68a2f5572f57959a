"""HTML rendering shared by the dashboard and the HTML report, knowing nothing of Gradio:
the grid of cards (``grid``), a card's token probabilities, fork and turn-end track
(``tokens``), word diffs (``textdiff``) and the inspector's panels (``inspector``).
Every value is escaped here.
"""
