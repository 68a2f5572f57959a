"""What a search of the run log means, and the SQL that finds it quickly.

A search is terms separated by spaces; "double-quoted words" are one term. A run matches
when every term occurs in its prompt or output, in any case, anywhere, inside a word too:
``北京`` finds ``我爱北京天安门`` and ``token`` finds ``tokenizer``. Nothing else is syntax:
``cat OR -dog`` looks for the three texts ``cat``, ``OR`` and ``-dog``.

Terms of three characters or more are found through the trigram indexes (``runs_fts``,
``experiments_fts``; migration m008). A trigram index cannot find one or two characters, so
those terms are compared with LIKE instead: next to a longer term, only on the rows that term
found; alone, on the runs newest first until the page is full. That is quick for text that is
common, and a read of the whole log for text that is rare or absent (160 ms at 100,000 runs
in bench/store_bench.py). LIKE ignores the case of ASCII letters only.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

MIN_INDEXED = 3  # the trigram tokenizer indexes, and finds, runs of 3 characters
DENSE_HITS = 2000  # from this many index hits, walk the runs newest first (see runs_conditions)
SEARCH_HELP = (
    "Text anywhere in prompts and outputs, in any case (北京 finds 我爱北京天安门, token finds "
    'tokenizer); every word must occur; "double quotes" keep words together. A search of '
    "only 1-2 character words (北京) reads the runs themselves: slower on a big log when "
    "they are rare."
)


@dataclass(frozen=True)
class Search:
    """A search's terms: ``indexed`` (3+ characters, found through the trigram index) and
    ``short`` (1-2 characters, compared with LIKE)."""

    indexed: tuple[str, ...]
    short: tuple[str, ...]

    @property
    def match(self) -> str | None:
        """The FTS5 query: each indexed term quoted, so its text is matched literally.

        ``Search(("cat", "-dog"), ()).match`` → ``'"cat" "-dog"'``; None without indexed terms.
        """
        if not self.indexed:
            return None
        return " ".join('"' + term.replace('"', '""') + '"' for term in self.indexed)

    @property
    def patterns(self) -> list[str]:
        """LIKE patterns for the short terms, ``%`` and ``_`` escaped with ``\\``:
        ``Search((), ("5%",)).patterns`` → ``["%5\\%%"]``."""
        escaped = (
            t.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for t in self.short
        )
        return [f"%{term}%" for term in escaped]


def search_terms(text: str) -> list[str]:
    """The terms of a search: ``'北京 "lighthouse keeper" paris"'`` →
    ``["北京", "lighthouse keeper", "paris"]``. Quotes pair up from the left; one left
    without a partner is ignored, and no term contains a quote (or a NUL, which ends an
    FTS5 query)."""
    parts = text.replace("\x00", " ").split('"')
    if len(parts) % 2 == 0:  # an odd number of quotes: the last one has no partner
        parts[-2:] = [parts[-2] + " " + parts[-1]]
    terms = []
    for n, part in enumerate(parts):
        if n % 2:
            terms += [" ".join(part.split())] if part.strip() else []
        else:
            terms += part.split()
    return terms


def parse_search(text: str | None) -> Search | None:
    """``"童话 OR tokenizer"`` → ``Search(indexed=("tokenizer",), short=("童话", "OR"))``;
    None when there is nothing to search for."""
    terms = list(dict.fromkeys(search_terms(text or "")))
    if not terms:
        return None
    return Search(
        indexed=tuple(t for t in terms if len(t) >= MIN_INDEXED),
        short=tuple(t for t in terms if len(t) < MIN_INDEXED),
    )


def count_hits(db: Database, fts: str, match: str, cap: int) -> int:
    """How many rows of the FTS table ``fts`` match, counting no further than ``cap``."""
    sql = f"select count(*) from (select 1 from {fts} where {fts} match ? limit ?)"
    return db.execute(sql, (match, cap)).fetchone()[0]


def like_clause(columns: list[str]) -> str:
    """One short term in any of ``columns``: ``(a like ? escape '\\' or b like ? ...)``."""
    return "(" + " or ".join(f"{c} like ? escape '\\'" for c in columns) + ")"


@dataclass(frozen=True)
class Conditions:
    """WHERE clauses (to join with ``and``) and their parameters; ``walk``: the rows are
    best found by walking the table newest first rather than by looking each hit up."""

    clauses: list[str]
    params: list
    walk: bool


def runs_conditions(db: Database, search: Search, *, limit: int, alias: str = "runs") -> Conditions:
    """The conditions for the runs (as ``alias``) that match ``search``.

    The plan matters more than the tokenizer: ``the`` is in 90% of runs, and looking up
    and sorting all 90,000 of them to keep the newest 50 took 105 ms. So with many hits
    (:data:`DENSE_HITS`), the hits' ids are only collected, and SQLite walks the runs newest
    first (an index on created_at) keeping those in the list, and stops at ``limit``; with
    few, it looks each one up and sorts them. The ``+`` in ``+rowid`` keeps SQLite from
    driving the query from the list, whose length it cannot know. Short terms alone are
    LIKE on every run walked, newest first.
    """
    if search.match is None:
        walk, clauses, params = True, [], []
    else:
        hits = count_hits(db, "runs_fts", search.match, DENSE_HITS)
        if hits == 0:
            return Conditions(["0"], [], walk=False)
        walk = hits >= DENSE_HITS and limit >= 0
        rowid = f"{'+' if walk else ''}{alias}.rowid"
        clauses = [f"{rowid} in (select rowid from runs_fts where runs_fts match ?)"]
        params = [search.match]
    columns = [f"{alias}.rendered_prompt", f"{alias}.output"]
    for pattern in search.patterns:
        clauses.append(like_clause(columns))
        params += [pattern] * len(columns)
    return Conditions(clauses, params, walk)


def experiments_conditions(db: Database, search: Search, *, limit: int) -> Conditions:
    """The condition for the experiments (as ``e``) whose prompt matches ``search``, or one
    of whose runs does; with many matching runs, the experiments are walked newest first
    and each one's runs checked (an index on runs.experiment_id)."""
    prompt, params = [], []
    if search.match is not None:
        prompt.append(
            "e.rowid in (select rowid from experiments_fts where experiments_fts match ?)"
        )
        params.append(search.match)
    for pattern in search.patterns:
        prompt.append("e.prompt like ? escape '\\'")
        params.append(pattern)
    runs = runs_conditions(db, search, limit=limit, alias="r")
    where = " and ".join(runs.clauses)
    if runs.walk:
        in_runs = f"exists (select 1 from runs r where r.experiment_id = e.id and {where})"
    else:
        in_runs = f"e.id in (select r.experiment_id from runs r where {where})"
    clause = f"(({' and '.join(prompt)}) or {in_runs})"
    return Conditions([clause], [*params, *runs.params], runs.walk)
