"""What a search of the run log means, and the SQL that finds it quickly.

A search is terms separated by spaces; "double-quoted words" are one term. A run matches
when every term occurs in its prompt or output, in any case, anywhere, inside a word too:
``北京`` finds ``我爱北京天安门`` and ``token`` finds ``tokenizer``. Nothing else is syntax:
``cat OR -dog`` looks for the three texts ``cat``, ``OR`` and ``-dog``.

Terms of three characters or more are found through the trigram indexes (``runs_fts``,
``experiments_fts``; migration m008). A trigram index cannot find fewer characters. A term of
one or two that is common (in the newest runs) is found by LIKE on the runs newest first,
which soon fills the page; a rare one through the trigrams that start with it (listed by an
``fts5vocab`` table) and, for the last two characters of a prompt or output, which start no
trigram, indexes of each run's last characters. Next to a longer term, short terms are LIKE
on the rows that term found. LIKE ignores the case of ASCII letters only.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

MIN_INDEXED = 3  # the trigram tokenizer indexes, and finds, runs of 3 characters
DENSE_HITS = 2000  # from this many index hits, walk the runs newest first (see runs_conditions)
MAX_SHORT_TRIGRAMS = 300  # more trigrams start with a 1-2 character term: it is common
PROBE_RUNS = 500  # newest runs read to tell a common 1-2 character term from a rare one
MAX_CHAR = "\U0010ffff"
VOCAB = "temp.yilab_runs_vocab"  # this connection's list of the trigrams in runs_fts
SEARCH_HELP = (
    "Text anywhere in prompts and outputs, in any case (北京 finds 我爱北京天安门, token finds "
    'tokenizer); every word must occur; "double quotes" keep words together.'
)


@dataclass(frozen=True)
class Search:
    """A search's terms: ``indexed`` (3+ characters, found through the trigram index) and
    ``short`` (1-2 characters: see :func:`runs_conditions`)."""

    indexed: tuple[str, ...]
    short: tuple[str, ...]

    @property
    def match(self) -> str | None:
        """The FTS5 query: each indexed term quoted, so its text is matched literally.

        ``Search(("cat", "-dog"), ()).match`` → ``'"cat" "-dog"'``; None without indexed terms.
        """
        if not self.indexed:
            return None
        return " ".join(map(fts_string, self.indexed))

    @property
    def patterns(self) -> list[str]:
        """LIKE patterns for the short terms, ``%`` and ``_`` escaped with ``\\``:
        ``Search((), ("5%",)).patterns`` → ``["%5\\%%"]``."""
        escaped = (
            t.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for t in self.short
        )
        return [f"%{term}%" for term in escaped]


def fts_string(text: str) -> str:
    """An FTS5 string, whose text is matched literally: ``a "b`` → ``"a ""b"``."""
    return '"' + text.replace('"', '""') + '"'


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


def is_common(db: Database, pattern: str) -> bool:
    """Whether the LIKE ``pattern`` is in 1% of the newest :data:`PROBE_RUNS` runs or more,
    so that LIKE on the runs newest first fills a page soon (1 ms to tell)."""
    sql = (
        "select count(*) from (select rendered_prompt, output from runs "
        "order by created_at desc limit ?) where " + like_clause(["rendered_prompt", "output"])
    )
    return db.execute(sql, (PROBE_RUNS, pattern, pattern)).fetchone()[0] * 100 >= PROBE_RUNS


def short_condition(db: Database, term: str, alias: str) -> tuple[str, list] | None:
    """A condition for the runs holding a 1- or 2-character ``term``, through indexes alone:
    the trigrams that start with it (at most :data:`MAX_SHORT_TRIGRAMS`, else None), or a
    prompt or output whose last characters hold it."""
    db.execute(f"create virtual table if not exists {VOCAB} using fts5vocab(main, runs_fts, row)")
    low = term.lower()
    sql = f"select term from {VOCAB} where term >= ? and term < ? limit ?"
    trigrams = [row[0] for row in db.execute(sql, (low, low + MAX_CHAR, MAX_SHORT_TRIGRAMS + 1))]
    if len(trigrams) > MAX_SHORT_TRIGRAMS:
        return None
    clauses, params = [], []
    if trigrams:
        clauses.append(f"{alias}.rowid in (select rowid from runs_fts where runs_fts match ?)")
        params.append(" OR ".join(map(fts_string, trigrams)))
    for column in ("output", "rendered_prompt"):
        last2, last1 = (f"lower(substr({alias}.{column}, -{n}))" for n in (2, 1))
        if len(low) == 2:
            clauses.append(f"{last2} = ?")
            params.append(low)
        else:  # one of the last two
            clauses += [f"({last2} >= ? and {last2} < ?)", f"{last1} = ?"]
            params += [low, low + MAX_CHAR, low]
    return f"({' or '.join(clauses)})", params


def runs_conditions(db: Database, search: Search, *, limit: int, alias: str = "runs") -> Conditions:
    """The conditions for the runs (as ``alias``) that match ``search``.

    The plan matters more than the tokenizer: ``the`` is in 90% of runs, and looking up
    and sorting all 90,000 of them to keep the newest 50 took 105 ms. So with many hits
    (:data:`DENSE_HITS`), the hits' ids are only collected, and SQLite walks the runs newest
    first (an index on created_at) keeping those in the list, and stops at ``limit``; with
    few, it looks each one up and sorts them. The ``+`` in ``+rowid`` keeps SQLite from
    driving the query from the list, whose length it cannot know. Short terms alone are
    found through :func:`short_condition` when one of them is rare, else by LIKE on every
    run walked, newest first.
    """
    short = list(search.short)
    if search.match is None:
        walk, clauses, params = True, [], []
        for term, pattern in zip(search.short, search.patterns, strict=True):
            if is_common(db, pattern):
                continue
            if (indexed := short_condition(db, term, alias)) is not None:
                walk, clauses, params = False, [indexed[0]], indexed[1]
                short.remove(term)
                break
    else:
        hits = count_hits(db, "runs_fts", search.match, DENSE_HITS)
        if hits == 0:
            return Conditions(["0"], [], walk=False)
        walk = hits >= DENSE_HITS and limit >= 0
        rowid = f"{'+' if walk else ''}{alias}.rowid"
        clauses = [f"{rowid} in (select rowid from runs_fts where runs_fts match ?)"]
        params = [search.match]
    columns = [f"{alias}.rendered_prompt", f"{alias}.output"]
    for pattern in Search((), tuple(short)).patterns:
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
