"""Searching the run log: Chinese and English text through the trigram index (migration
m008), one- and two-character terms without it, user text never read as FTS syntax,
newest first under both query plans, filters, experiments, and an old db migrated."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from sqlite_utils import Database

from tests.test_cli import cli
from tests.test_store import SETTINGS, add_run
from yilab.cli.main import main
from yilab.runlog import migrations
from yilab.runlog import search as search_module
from yilab.runlog.migrations import MIGRATIONS
from yilab.runlog.rows import experiment_row, finish_values, run_row
from yilab.runlog.search import Search, parse_search, search_terms
from yilab.runlog.store import Store, StoreError


@pytest.fixture
def store() -> Store:
    return Store(":memory:")


@pytest.fixture(params=["lookup", "walk"])
def plan(request, monkeypatch) -> str:
    """Run a test under both plans: look every hit up and sort them (few hits), or walk
    the runs newest first keeping the hits (many: here, from the first hit)."""
    if request.param == "walk":
        monkeypatch.setattr(search_module, "DENSE_HITS", 1)
    return request.param


def ids(rows: list[dict]) -> list[str]:
    return [row["id"] for row in rows]


def found(store: Store, query: str, **filters) -> set[str]:
    return set(ids(store.list_runs(search=query, **filters)))


# -- what a search's text means ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("cat OR -dog", ["cat", "OR", "-dog"]),
        ('北京 "lighthouse   keeper" x', ["北京", "lighthouse keeper", "x"]),
        ('paris"', ["paris"]),
        ('the "sea', ["the", "sea"]),
        ('"a" "b c" "', ["a", "b c"]),
        ('""', []),
        ("   ", []),
        ("NEAR(a b) a*b ^x a:b", ["NEAR(a", "b)", "a*b", "^x", "a:b"]),
    ],
)
def test_search_terms(text, terms):
    assert search_terms(text) == terms


def test_parse_search_splits_what_the_index_can_find():
    assert parse_search("童话 OR tokenizer 我爱北京") == Search(
        indexed=("tokenizer", "我爱北京"), short=("童话", "OR")
    )
    assert parse_search('"a b"') == Search(indexed=("a b",), short=())
    assert parse_search(" ") is None and parse_search(None) is None


def test_match_quotes_every_term_and_patterns_escape_like():
    assert Search(("cat", "-dog", 'say "hi'), ()).match == '"cat" "-dog" "say ""hi"'
    assert Search((), ("5%", "a_", "\\")).patterns == ["%5\\%%", "%a\\_%", "%\\\\%"]
    assert Search((), ("童话",)).match is None


# -- what it finds ----------------------------------------------------------------------


@pytest.fixture(params=["short terms indexed", "short terms by LIKE"])
def short(request, monkeypatch) -> str:
    """Run a test with 1-2 character terms found through the indexes (as rare ones are),
    and by LIKE (as common ones are), however common they are in the test's few runs."""
    if request.param == "short terms by LIKE":
        monkeypatch.setattr(search_module, "MAX_SHORT_TRIGRAMS", -1)
    else:
        monkeypatch.setattr(search_module, "is_common", lambda db, pattern: False)
    return request.param


def test_chinese_in_outputs(store, plan, short):
    tale = add_run(store, "从前有一个童话故事，讲的是一座灯塔。")
    beijing = add_run(store, "我爱北京天安门")
    only = add_run(store, "北京")  # the whole output: no trigram in it at all
    ends = add_run(store, "我们去北京")  # at the very end, after the last trigram
    english = add_run(store, "Paris.")
    assert found(store, "童话") == {tale}
    assert found(store, "童话故事") == {tale}
    assert found(store, "天安门") == found(store, "北京天安门") == {beijing}
    assert found(store, "北京") == {beijing, only, ends}
    assert found(store, "爱") == {beijing}
    assert found(store, "龙") == set() and found(store, "童话 北京") == set()
    assert found(store, "北京 天安门") == {beijing}  # a short term beside an indexed one
    assert found(store, "京天") == {beijing}
    assert found(store, "的") == {tale} and found(store, "Paris") == {english}


def test_one_character_anywhere(store, short):
    middle = add_run(store, "一条龙在飞")  # starts a trigram
    second_last = add_run(store, "一条龙。")
    last = add_run(store, "小龙")
    alone = add_run(store, "龙")
    add_run(store, "没有")
    q = add_run(store, "a Q.", rendered_prompt="?")
    assert found(store, "龙") == {middle, second_last, last, alone}
    assert found(store, "q") == {q}
    assert found(store, "鑫") == set()


def test_short_terms_in_the_prompt_too(store, short):
    run = add_run(store, "Fine.", rendered_prompt="<|user|>北京在哪里？")
    raw = add_run(store, "Fine.", rendered_prompt="去北京")  # at the end of a raw prompt
    ok = add_run(store, "All OK", rendered_prompt="Q")
    assert found(store, "北京") == {run, raw}
    assert ids(store.list_runs(search="北京", status="error")) == []
    assert found(store, "ok") == found(store, "Ok") == {ok}


def test_english_any_case_inside_words(store, plan, short):
    paris = add_run(store, "The capital is Paris, a café city.", rendered_prompt="Q")
    berlin = add_run(store, "Berlin.", rendered_prompt="Capital of Germany?")
    tokens = add_run(store, "A TOKENIZER splits words; or not.", rendered_prompt="Q")
    assert found(store, "paris") == found(store, "PARIS") == found(store, "café") == {paris}
    assert found(store, 'paris"') == {paris}  # a quote without a partner is ignored
    assert found(store, "germany") == {berlin}
    assert found(store, "capital") == {paris, berlin}
    assert found(store, "capital rome") == set()
    assert found(store, "token") == {tokens}  # inside a word
    assert found(store, "IS") == {paris}  # 2 letters: LIKE, ASCII case ignored
    assert found(store, "OR") == {tokens}
    assert found(store, "Or token") == {tokens}


def test_quotes_keep_words_together(store, plan):
    keeper = add_run(store, "The lighthouse keeper found a bottle.")
    apart = add_run(store, "A keeper of the lighthouse.")
    assert found(store, "lighthouse keeper") == {keeper, apart}
    assert found(store, '"lighthouse keeper"') == {keeper}
    assert found(store, '"keeper lighthouse"') == set()
    assert found(store, '"THE LIGHTHOUSE"') == {keeper, apart}  # any case
    assert found(store, '"of the lighthouse"') == {apart}


def test_fts_syntax_in_user_text_is_text(store, plan):
    both = add_run(store, "cat OR -dog")
    cat = add_run(store, "just a cat and a dog")
    star = add_run(store, "a*b and NEAR(x y) and col:umn ^up")
    plain = add_run(store, "ab and near x y")
    assert found(store, "cat OR -dog") == {both}  # three texts, not an OR and a NOT
    assert found(store, "cat") == {both, cat}
    assert found(store, "-dog") == {both}
    assert found(store, "a*b") == {star}
    assert found(store, "NEAR(x") == {star}
    assert found(store, "NEAR(") == {star}
    assert found(store, "col:umn") == found(store, "^up") == {star}
    assert plain not in found(store, "near(")


@pytest.mark.parametrize(
    "query",
    ['"', '""', "AND OR", "NOT", "*", "-", "-paris", "paris*", "(", "a:b", "^x", "NEAR(a b)"]
    + ["日本語", "🙂", "' OR 1=1 --", "   ", "%", "_", "\\", "%_%", "'", "a\x00b"],
)
def test_hostile_searches_never_raise(store, query):
    add_run(store, "Paris")
    assert isinstance(store.list_runs(search=query), list)
    assert isinstance(store.list_experiments(search=query), list)


def test_like_wildcards_are_text(store, short):
    percent = add_run(store, "up 5% today")
    under = add_run(store, "snake_case")
    add_run(store, "up 50 today, snakeXcase")
    assert found(store, "5%") == {percent}
    assert found(store, "e_") == {under}
    assert found(store, "%") == {percent} and found(store, "_") == {under}


# -- order, limit and filters -------------------------------------------------------------


def old_run(store: Store, output: str, *, days_ago: float, **settings) -> str:
    """Log a run created ``days_ago`` days back, after the runs already there, as an import
    or a spill merge does: its rowid is the newest, its created_at is not."""
    when = (datetime.now(timezone.utc) - timedelta(days=days_ago)).isoformat()
    experiment = experiment_row(model="tiny", prompt="capital?", sweep={})
    run = run_row(experiment_id=experiment["id"], cell_index=0, settings={**SETTINGS, **settings})
    run |= finish_values(status="done", finish_reason="stop", output=output)
    experiment["created_at"] = run["created_at"] = when
    store.merge_rows({"experiments": [experiment], "runs": [run]})
    return run["id"]


def test_newest_first_with_a_limit_even_when_rows_came_late(store, plan, short):
    old = old_run(store, "the old one, 北京", days_ago=30)
    newer = [add_run(store, f"the run {n}, 北京") for n in range(4)]
    older = old_run(store, "the older one, 北京", days_ago=60)  # inserted last
    newest_first = [*reversed(newer), old, older]
    assert ids(store.list_runs()) == newest_first
    for query in ("the", "北京", "the 北京", "run", "one"):
        expected = [i for i in newest_first if i in found(store, query)]
        assert ids(store.list_runs(search=query)) == expected, query
        assert ids(store.list_runs(search=query, limit=2)) == expected[:2], query
    assert ids(store.list_runs(search="the", limit=5)) == newest_first[:5]
    assert ids(store.list_runs(search="the", limit=-1)) == newest_first


def test_filters_combine_with_a_search(store, plan, short):
    hot = add_run(store, "童话 one", model="m1", temperature=1.0)
    error = add_run(store, "童话 two", model="m2", status="error")
    cold = add_run(store, "童话 three", model="m2", temperature=0.0)
    vars_run = add_run(store, "童话 four", vars={"city": "北京"}, input_index=0)
    add_run(store, "something else", model="m1", temperature=1.0, vars={"city": "北京"})
    assert ids(store.list_runs(search="童话", model="m1")) == [hot]
    assert ids(store.list_runs(search="童话 one", model="m1")) == [hot]
    assert ids(store.list_runs(search="童话", model="m2")) == [cold, error]
    assert ids(store.list_runs(search="童话", status="error")) == [error]
    assert ids(store.list_runs(search="童话 two", status="done")) == []
    assert ids(store.list_runs(search="童话", temperature=0.0)) == [cold]
    assert ids(store.list_runs(search="four", variable=("city", "北京"))) == [vars_run]
    assert ids(store.list_runs(search="童话", variable=("city", "北京"))) == [vars_run]
    assert ids(store.list_runs(search="童话", finish_reason="length")) == []
    experiment_id = store.get_run(cold)["experiment_id"]
    assert ids(store.list_runs(search="three", experiment_id=experiment_id)) == [cold]
    assert ids(store.list_runs(search="one", experiment_id=experiment_id)) == []


def test_list_experiments_search(store, plan, short):
    def experiment(prompt: str, outputs: list[str]) -> str:
        eid = store.create_experiment(model="tiny", prompt=prompt, sweep={})
        for cell, output in enumerate(outputs):
            rid = store.start_run(
                experiment_id=eid,
                cell_index=cell,
                settings={**SETTINGS, "rendered_prompt": f"<|user|>{prompt}"},
            )
            store.finish_run(rid, status="done", finish_reason="stop", output=output)
        return eid

    tale = experiment("讲一个童话故事", ["很久很久以前有一座灯塔。", "从前"])
    lighthouse = experiment("A story, please", ["The lighthouse keeper.", "灯塔守护人"])
    empty = experiment("北京在哪里？", [])

    def search(query: str, limit: int = 50) -> list[str]:
        return ids(store.list_experiments(search=query, limit=limit))

    assert search("童话") == search("童话故事") == [tale]  # the prompt (LIKE, then the index)
    assert search("灯塔") == [lighthouse, tale]  # an output, newest first
    assert search("灯塔", limit=1) == [lighthouse]
    assert search("LIGHTHOUSE keeper") == [lighthouse]
    assert search("北京") == [empty]  # a prompt with no runs
    assert search("灯塔 很久") == [tale]  # both in one run
    assert search("灯塔 从前") == []  # each in another run
    assert search("story 守护") == [lighthouse]  # one in the prompt, one in an output
    assert search("童话 lighthouse") == []
    counts = {e["id"]: e["run_count"] for e in store.list_experiments(search="灯塔")}
    assert counts == {tale: 2, lighthouse: 2}


def sql_of_list_runs(store: Store, **kwargs) -> str:
    """The select ``list_runs`` ran, with its parameters in place."""
    seen: list[str] = []
    with store._use() as db:
        db.conn.set_trace_callback(seen.append)
        try:
            store.list_runs(**kwargs)
        finally:
            db.conn.set_trace_callback(None)
    return [sql for sql in seen if sql.startswith("select * from runs")][-1]


def test_common_text_walks_newest_first_and_rare_text_is_looked_up(tmp_path, monkeypatch):
    monkeypatch.setattr(search_module, "DENSE_HITS", 20)
    store = Store(tmp_path / "runs.db")
    for n in range(40):
        add_run(store, f"the common word, and run {n}" + (" rare" if n % 10 == 0 else ""))

    def plan(**kwargs) -> str:
        with store._use() as db:
            rows = db.execute("explain query plan " + sql_of_list_runs(store, **kwargs))
            return " / ".join(row[3] for row in rows)

    common = plan(search="common")
    assert "USING INDEX idx_runs_created_at" in common and "TEMP B-TREE" not in common
    assert "INDEX idx_runs_model_created_at" in plan(search="common", model="tiny")
    assert "INDEX idx_runs_status_created_at" in plan(search="common", status="done")
    rare = plan(search="rare")
    assert "INTEGER PRIMARY KEY" in rare and "TEMP B-TREE FOR ORDER BY" in rare
    pair = plan(search="ar")  # rare: the trigrams starting with it, and the ends
    assert "idx_runs_output_end2" in pair and "idx_runs_rendered_prompt_end2" in pair
    assert "INTEGER PRIMARY KEY" in pair and "idx_runs_created_at" not in pair
    one = plan(search="q")
    assert "idx_runs_output_end1" in one and "idx_runs_output_end2" in one
    assert "USING INDEX idx_runs_created_at" in plan(search="th")  # common: LIKE, newest first
    assert "TEMP B-TREE" not in plan(status="done") + plan(finish_reason="length")
    assert "created_at_vars" in plan(variable=("city", "x"))


# -- the migration ----------------------------------------------------------------------


def old_db(path) -> list[str]:
    """A run log as yilab made it before m008 (FTS5's default tokenizer), with three runs."""
    db = Database(path)
    MIGRATIONS.apply(db, stop_before="m008_fts_trigram")
    run_ids = []
    for n, output in enumerate(["从前有一个童话故事。", "我爱北京天安门", "The lighthouse."]):
        experiment = experiment_row(model="tiny", prompt=f"讲一个童话 {n}", sweep={})
        run = run_row(experiment_id=experiment["id"], cell_index=0, settings=SETTINGS)
        run |= finish_values(status="done", finish_reason="stop", output=output)
        db.table("experiments").insert(experiment)
        db.table("runs").insert(run)
        run_ids.append(run["id"])
    db.close()
    return run_ids


def test_an_old_db_finds_chinese_after_the_migration(tmp_path):
    path = tmp_path / "old.db"
    tale, beijing, lighthouse = old_db(path)
    with sqlite3.connect(path) as conn:  # the default tokenizer: one word per Chinese run
        query = "select count(*) from runs_fts where runs_fts match ?"
        assert conn.execute(query, ('"童话"',)).fetchone()[0] == 0
        assert conn.execute(query, ('"天安门"',)).fetchone()[0] == 0
        assert conn.execute(query, ('"lighthouse"',)).fetchone()[0] == 1
    store = Store(path)
    assert found(store, "童话") == {tale}
    assert found(store, "天安门") == found(store, "北京") == {beijing}
    assert found(store, "LIGHTHOUSE") == found(store, "light") == {lighthouse}
    assert len(store.list_experiments(search="童话")) == 3
    assert (
        "trigram" in store._rows("select sql from sqlite_master where name = 'runs_fts'")[0]["sql"]
    )

    new = add_run(store, "一个新的童话")  # the triggers keep the new index current
    assert found(store, "新的童话") == {new}
    store.set_star(new, True)
    store.set_note(new, "note")
    store.finish_run(new, status="done", finish_reason="stop", output="改了")
    assert found(store, "新的童话") == set() and found(store, "改了") == {new}
    with store._write() as db:
        db.execute("delete from runs where id = ?", [beijing])
        for fts in ("runs_fts", "experiments_fts"):  # index and content agree
            db.execute(f"insert into {fts} ({fts}) values ('integrity-check')")
    assert found(store, "天安门") == set()
    store.close()


def test_the_migration_keeps_names_columns_and_triggers(tmp_path):
    old_db(tmp_path / "old.db")
    before = Database(tmp_path / "old.db")
    names = {(r[0], r[1]) for r in before.execute("select type, name from sqlite_master")}
    before.close()
    Store(tmp_path / "old.db").close()
    after = Database(tmp_path / "old.db")
    now = {(r[0], r[1]) for r in after.execute("select type, name from sqlite_master")}
    assert names <= now  # nothing renamed or lost: runs_fts, its shadow tables, triggers
    assert {name for kind, name in now - names} == {
        "idx_runs_output_end1",
        "idx_runs_output_end2",
        "idx_runs_rendered_prompt_end1",
        "idx_runs_rendered_prompt_end2",
        "idx_runs_status_created_at",
        "idx_runs_finish_reason_created_at",
        "idx_runs_created_at_vars",
        "idx_experiments_created_at",
    }
    assert after.table("runs").detect_fts() == "runs_fts"
    assert [c.name for c in after.table("runs_fts").columns] == ["rendered_prompt", "output"]
    assert "trigram" in after.table("experiments_fts").schema


def test_the_cli_finds_chinese_and_says_what_a_search_is(capsys, tmp_path):
    db = tmp_path / "cli.db"
    with Store(db) as store:
        tale = add_run(store, "从前有一个童话故事。")
        add_run(store, "Paris.")
    status, doc, _ = cli(capsys, "runs", "--search", "童话", "--db", str(db))
    assert status == 0 and [run["id"] for run in doc] == [tale]
    status, doc, _ = cli(capsys, "runs", "--search", "童话故事 OR", "--db", str(db))
    assert status == 0 and doc == []  # OR is text, and the tale has no "or"
    with pytest.raises(SystemExit):
        main(["runs", "--help"])
    assert "我爱北京天安门" in capsys.readouterr().out


def test_a_migration_cut_short_leaves_the_old_index(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    tale, *_ = old_db(path)
    real = migrations._fts_trigram

    def fail_on_experiments(db, table, columns):
        if table == "experiments":  # after runs_fts was rebuilt
            raise sqlite3.OperationalError("disk I/O error")
        real(db, table, columns)

    monkeypatch.setattr(migrations, "_fts_trigram", fail_on_experiments)
    with pytest.raises(StoreError):
        Store(path)
    with sqlite3.connect(path) as conn:
        sql = conn.execute("select sql from sqlite_master where name = 'runs_fts'").fetchone()[0]
        triggers = conn.execute("select count(*) from sqlite_master where type = 'trigger'")
        assert "trigram" not in sql and triggers.fetchone()[0] == 6
    monkeypatch.setattr(migrations, "_fts_trigram", real)
    with Store(path) as store:
        assert found(store, "童话") == {tale}
