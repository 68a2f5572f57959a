"""What a search of the run log means, and the SQL that finds it quickly.

A search is terms separated by spaces; "double-quoted words" are one term. A run matches
when every term occurs in its prompt or output, in any case, anywhere, inside a word too:
``北京`` finds ``我爱北京天安门`` and ``token`` finds ``tokenizer``. Nothing else is syntax:
``cat OR -dog`` looks for the three texts ``cat``, ``OR`` and ``-dog``.

Terms of three characters or more are found through the trigram indexes (``runs_fts``,
``experiments_fts``; migration m008). A trigram index cannot find fewer characters. A term
of two is found through the trigrams that start with it (listed by an ``fts5vocab`` table)
and, for the two at the very end of a prompt or output, an index of each run's last two
characters; when it is common, by LIKE on the runs newest first, which soon fills the page.
A term of one character is always LIKE: quick when it is common, a read of the whole log
when it is rare or absent (160 ms at 100,000 runs in bench/store_bench.py). Next to a
longer term, short terms are LIKE on the rows that term found. LIKE ignores the case of
ASCII letters only.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlite_utils import Database

MIN_INDEXED = 3  # the trigram tokenizer indexes, and finds, runs of 3 characters
DENSE_HITS = 2000  # from this many index hits, walk the runs newest first (see runs_conditions)
MAX_PAIR_TRIGRAMS = 300  # more trigrams start with a 2-character term: it is common, use LIKE
VOCAB = "temp.yilab_runs_vocab"  # this connection's list of the trigrams in runs_fts
SEARCH_HELP = (
    "Text anywhere in prompts and outputs, in any case (北京 finds 我爱北京天安门, token finds "
    'tokenizer); every word must occur; "double quotes" keep words together. A search of '
    "only one-character words (龙) reads the runs themselves: slower on a big log when they "
    "are rare."
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


def pair_condition(db: Database, pair: str, alias: str) -> tuple[str, list] | None:
    """A condition for the runs holding the 2-character ``pair``, through indexes only: the
    trigrams that start with it, or a prompt or output that ends with it. None when ``pair``
    is common (its trigrams number over :data:`MAX_PAIR_TRIGRAMS` or their documents
    :data:`DENSE_HITS`): LIKE on the newest runs finds it sooner."""
    db.execute(f"create virtual table if not exists {VOCAB} using fts5vocab(main, runs_fts, row)")
    low = pair.lower()
    sql = f"select term, doc from {VOCAB} where term >= ? and term < ? limit ?"
    rows = db.execute(sql, (low, low + "\U0010ffff", MAX_PAIR_TRIGRAMS + 1)).fetchall()
    if len(rows) > MAX_PAIR_TRIGRAMS or sum(doc for _, doc in rows) >= DENSE_HITS:
        return None
    ends = [f"lower(substr({alias}.{c}, -2)) = ?" for c in ("output", "rendered_prompt")]
    if not rows:
        return f"({' or '.join(ends)})", [low, low]
    match = " OR ".join(fts_string(term) for term, _ in rows)
    found = f"{alias}.rowid in (select rowid from runs_fts where runs_fts match ?)"
    return f"({' or '.join([found, *ends])})", [match, low, low]


def runs_conditions(db: Database, search: Search, *, limit: int, alias: str = "runs") -> Conditions:
    """The conditions for the runs (as ``alias``) that match ``search``.

    The plan matters more than the tokenizer: ``the`` is in 90% of runs, and looking up
    and sorting all 90,000 of them to keep the newest 50 took 105 ms. So with many hits
    (:data:`DENSE_HITS`), the hits' ids are only collected, and SQLite walks the runs newest
    first (an index on created_at) keeping those in the list, and stops at ``limit``; with
    few, it looks each one up and sorts them. The ``+`` in ``+rowid`` keeps SQLite from
    driving the query from the list, whose length it cannot know. Short terms alone are
    found through :func:`pair_condition` when one of them is a rare pair, else by LIKE on
    every run walked, newest first.
    """
    short = list(search.short)
    if search.match is None:
        walk, clauses, params = True, [], []
        for term in (t for t in short if len(t) == 2):
            if (pair := pair_condition(db, term, alias)) is not None:
                walk, clauses, params = False, [pair[0]], pair[1]
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
