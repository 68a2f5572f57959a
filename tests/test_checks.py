"""Checks that judge an output: each kind passing and failing on hand-checked outputs, the
tricky inputs refused at entry with a message a user can act on, the text and dict round
trips an experiment's export relies on, and the pass rates. Pure: no MLX, no storage."""

import json

import pytest

from yilab.errors import BadInputError
from yilab.experiment.checks import (
    KINDS,
    MAX_CHECKS,
    Check,
    Verdict,
    evaluate,
    evaluate_all,
    parse_check,
    parse_checks,
    pass_all_k,
    pass_at_k,
    pass_rate,
)

PERSON = '{"type": "object", "required": ["name"], "properties": {"age": {"type": "integer"}}}'


@pytest.mark.parametrize(
    ("spec", "output", "passed", "detail"),
    [
        ("contains:Paris", "The capital is Paris.", True, "contains 'Paris'"),
        ("contains:Paris", "The capital is paris.", False, "does not contain 'Paris'"),
        ("contains/i:Paris", "THE CAPITAL IS PARIS.", True, "contains 'Paris'"),
        ("contains/i:strasse", "Hauptstraße 5", True, "contains 'strasse'"),  # casefold
        ("not-contains:as an AI", "As an AI, I cannot.", True, "does not contain 'as an AI'"),
        ("not-contains/i:as an AI", "As an ai, I cannot.", False, "contains 'as an AI'"),
        ("not-contains/i:as an AI", "Paris.", True, "does not contain 'as an AI'"),
        ("regex:^Paris", "Paris is the capital.", True, "matched 'Paris' at character 0"),
        ("regex:^Paris", " Paris", False, "no match for '^Paris'"),  # ^ is the output's start
        ("regex:^Paris", "It is Paris.", False, "no match for '^Paris'"),
        ("regex:^paris", "Paris", False, "no match for '^paris'"),
        ("regex/i:^paris", "Paris", True, "matched 'Paris' at character 0"),
        ("regex:\\d{4}", "In 1789, then", True, "matched '1789' at character 3"),
        ("regex:(?m)^Paris$", "City:\nParis\n", True, "matched 'Paris' at character 6"),
        ("regex:^Paris$", "City:\nParis\n", False, "no match for '^Paris$'"),
        ("json", '{"name": "Ann"}', True, "valid JSON"),
        ("json", " \n[1, 2]\n", True, "valid JSON"),
        ("json", '```json\n{"name": "Ann"}\n```', True, "valid JSON (in a fenced block)"),
        ("json", '```\n{"name": "Ann"}\n```\n', True, "valid JSON (in a fenced block)"),
        ("json", 'Sure! {"name": "Ann"}', False, "not JSON: Expecting value at line 1 column 1"),
        ("json", '{"name": "Ann",}', False, "not JSON: Expecting property name enclosed"),
        ("json", "NaN", False, "not JSON: NaN is not allowed in JSON"),
        ("json", '{"x": Infinity}', False, "not JSON: Infinity is not allowed in JSON"),
        ("json", "   ", False, "not JSON: the output is empty"),
        ("json", "```json\n```", False, "not JSON: the output is empty"),
        ("json", "[" * 100_000, False, "not JSON: nested too deeply"),
        (f"json-schema:{PERSON}", '{"name": "Ann", "age": 3}', True, "matches the schema"),
        (f"json-schema:{PERSON}", '```json\n{"name": "A"}\n```', True, "matches the schema (in"),
        (f"json-schema:{PERSON}", '{"name": "A", "age": "x"}', False, "$.age: 'x' is not of type"),
        (f"json-schema:{PERSON}", '{"age": 3}', False, "'name' is a required property"),
        (f"json-schema:{PERSON}", "[1]", False, "[1] is not of type 'object'"),
        (f"json-schema:{PERSON}", "name: Ann", False, "not JSON: Expecting value at line 1"),
        ("max-words:3", "one two three", True, "has 3 words (at most 3)"),
        ("max-words:3", "one two three four", False, "has 4 words (at most 3)"),
        ("max-words:3", "  one  ", True, "has 1 word (at most 3)"),
        ("max-words:5", "我爱北京天安门", False, "has 7 words (at most 5)"),
        ("max-words:7", "我爱北京天安门", True, "has 7 words (at most 7)"),
        ("max-chars:5", "  héllo \n", True, "has 5 characters (at most 5)"),  # stripped
        ("max-chars:5", "hello!", False, "has 6 characters (at most 5)"),
        ("max-chars:2", "😀😀", True, "has 2 characters (at most 2)"),  # code points
        ("max-chars:1000", "x" * 1234, False, "has 1,234 characters (at most 1,000)"),
    ],
)
def test_each_kind_passes_and_fails(spec, output, passed, detail):
    verdict = evaluate(parse_check(spec), output, "stop")
    assert verdict.passed is passed
    assert verdict.detail.startswith(detail), verdict.detail


def test_a_schema_mismatch_says_where_deep_inside():
    schema = '{"properties": {"people": {"items": {"properties": {"age": {"type": "integer"}}}}}}'
    output = '{"people": [{"age": 3}, {"age": "three"}]}'
    verdict = evaluate(parse_check(f"json-schema:{schema}"), output, "stop")
    assert verdict == Verdict(False, "$.people[1].age: 'three' is not of type 'integer'")


def test_a_schema_draft_named_by_dollar_schema_is_used():
    # draft 4's exclusiveMaximum is a boolean; in 2020-12 it would be a number
    schema = {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "maximum": 5,
        "exclusiveMaximum": True,
    }
    check = parse_check(f"json-schema:{json.dumps(schema)}")
    assert evaluate(check, "4", "stop").passed is True
    assert evaluate(check, "5", "stop").passed is False
    with pytest.raises(BadInputError, match="not valid"):
        parse_check('json-schema:{"maximum": 5, "exclusiveMaximum": true}')


def test_a_remote_ref_is_not_fetched_and_the_output_is_not_judged():
    check = parse_check('json-schema:{"$ref": "https://example.com/person.json"}')
    verdict = evaluate(check, "{}", "stop")
    assert verdict.passed is None
    assert "'https://example.com/person.json'" in verdict.detail


@pytest.mark.parametrize(
    ("spec", "output", "expected", "passed", "detail"),
    [
        ("equals", "  Paris\n", "Paris ", True, "equals the expected value"),
        ("equals", "paris", "Paris", False, "got 'paris', expected 'Paris'"),
        ("equals/i", " paris", "PARIS", True, "equals the expected value"),
        ("equals", "Paris.", "Paris", False, "got 'Paris.', expected 'Paris'"),
        ("equals", "Paris", None, None, "no expected value for this input"),
        ("equals", "Paris", "  \n", None, "no expected value for this input"),
        ("equals", "", "Paris", False, "got '', expected 'Paris'"),
    ],
)
def test_equals_compares_with_the_rows_expected_value(spec, output, expected, passed, detail):
    assert evaluate(parse_check(spec), output, "stop", expected) == Verdict(passed, detail)


@pytest.mark.parametrize(
    ("finish_reason", "passed", "detail"),
    [
        ("stop", True, "finished with stop"),
        ("length", False, "finished with length, not stop: it hit max_tokens"),
        ("error", False, "finished with error, not stop"),
        (None, False, "no finish reason (the run did not finish)"),
    ],
)
def test_stop_reads_the_finish_reason(finish_reason, passed, detail):
    assert evaluate(parse_check("stop"), "Paris.", finish_reason) == Verdict(passed, detail)


def test_no_output_is_judged_as_empty():
    assert evaluate(parse_check("json"), None, "error").detail == "not JSON: the output is empty"
    assert evaluate(parse_check("max-chars:3"), None, "error").passed is True
    assert evaluate(parse_check("contains:a"), None, "error").passed is False


@pytest.mark.parametrize(
    ("text", "check"),
    [
        ("regex:^Paris", Check("regex ^Paris", "regex", "^Paris")),
        ("max-words:50", Check("max-words 50", "max-words", "50")),
        ("capital=regex/i:^paris", Check("capital", "regex", "^paris", True)),
        ("  capital = REGEX / I : ^paris  ", Check("capital", "regex", "^paris", True)),
        (
            "not-contains/i:as an AI",
            Check("not-contains/i as an AI", "not-contains", "as an AI", True),
        ),
        ("contains:a=b:c", Check("contains a=b:c", "contains", "a=b:c")),
        ("sum=contains:1+1=2", Check("sum", "contains", "1+1=2")),
        ("q 1=equals", Check("q 1", "equals")),
        ("json:", Check("json", "json")),
        ("stop", Check("stop", "stop")),
        ("终止=stop", Check("终止", "stop")),
    ],
)
def test_parse_check(text, check):
    assert parse_check(text) == check


def test_a_long_default_name_is_cut_to_40_characters():
    check = parse_check("contains:" + "a" * 100)
    assert check.name == "contains " + "a" * 30 + "…"
    assert len(check.name) == 40


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (
            "regex:(",
            ["The regex '(' is not valid", "missing ), unterminated subpattern", "position 0"],
        ),
        ("regex:[a-", ["The regex '[a-' is not valid", "unterminated character set at position 0"]),
        ("regex:ab(c", ["The regex 'ab(c' is not valid", "at position 2"]),
        ("regex:*", ["nothing to repeat at position 0"]),
        ("regex:(a+)+$", ["repeats a repeat", "exponential time", "possessive"]),
        ("regex:^(\\w+\\s*)+$", ["repeats a repeat"]),
        ("regex:" + "(" * 5000 + ")" * 5000, ["nested too deeply"]),
        ('json-schema:{"type": 12}', ["The JSON Schema is not valid at $.type", "12 is not valid"]),
        ("json-schema:{not json", ["The JSON Schema is not JSON", "at line 1 column 2"]),
        ("json-schema:12", ["A JSON Schema is an object", "not 12"]),
        ('json-schema:{"pattern": "("}', ["The JSON Schema is not valid at $.pattern"]),
        ("json-schema:" + "[" * 5000, ["The JSON Schema is nested too deeply"]),
        ("json-schema", ["json-schema needs an argument", 'json-schema:{"type": "object"']),
        ("max-words:0", ["max-words needs a whole number from 1", "like max-words:50", "got '0'"]),
        ("max-words:abc", ["max-words needs a whole number from 1", "got 'abc'"]),
        ("max-words:-3", ["max-words needs a whole number"]),
        ("max-words:1.5", ["max-words needs a whole number"]),
        ("max-words:+5", ["max-words needs a whole number"]),
        ("max-chars:１０", ["max-chars needs a whole number"]),  # full-width digits
        ("max-chars:" + "9" * 5000, ["max-chars needs a whole number", "…"]),
        ("max-chars:1000000001", ["from 1 to 1,000,000,000"]),
        ("maxwords:3", ["Unknown check kind 'maxwords'", "Did you mean max-words?"]),
        ("frobnicate", ["Unknown check kind 'frobnicate'", ", ".join(KINDS)]),
        ("contains", ["contains needs an argument after a colon, like contains:Paris"]),
        ("contains:   ", ["contains needs an argument"]),
        ("json:x", ["json takes no argument (got 'x'); write just json"]),
        ("stop:now", ["stop takes no argument"]),
        ("equals:Paris", ["equals takes no argument"]),
        ("json/i", ["json: /i (ignore case) applies only to contains"]),
        ("max-chars/i:3", ["/i (ignore case) applies only"]),
        ("regex/x:a", ["regex: only /i (ignore case) may follow a kind, not /x"]),
        ("=json", ["name is empty"]),
        ("#tag=json", ["The check name '#tag' cannot be used", "no leading '#'"]),
        ("n" * 61 + "=json", ["at most 60 characters"]),
        ("", ["The check is empty"]),
        ("  \t ", ["The check is empty"]),
        ("contains:" + "x" * 10_001, ["has 10,001 characters; the limit is 10,000"]),
    ],
)
def test_tricky_input_is_a_clear_error_at_entry(text, fragments):
    with pytest.raises(BadInputError) as caught:
        parse_check(text)
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_an_argument_up_to_the_limit_is_taken():
    assert parse_check("contains:" + "x" * 10_000).arg == "x" * 10_000


@pytest.mark.parametrize(
    "pattern",
    [
        "^\\d+(,\\d+)*$",
        "(?:\\s+\\w+)*",
        "^(?:[A-Z][a-z]+ )+$",
        "(a+){2}",
        "a++",
        "(?>a+)+",
        "(?>(\\w+\\s*))+",
        "(a|b)*c",
    ],
)
def test_ordinary_repeats_are_not_refused(pattern):
    assert parse_check(f"regex:{pattern}").arg == pattern


@pytest.mark.parametrize(
    "pattern", ["(a*b*)*", "(\\d+,?)*x", "((a+))*b", "x|(?:y(a+)*)", "(?:(a+)+)?"]
)
def test_nested_repeats_are_refused_wherever_they_are(pattern):
    with pytest.raises(BadInputError, match="repeats a repeat"):
        parse_check(f"regex:{pattern}")


def test_parse_checks_skips_blank_and_comment_lines():
    text = "# the answer\ncapital=regex/i:^paris\n\n   \n  # short\nmax-words:50\n"
    assert parse_checks(text) == (
        Check("capital", "regex", "^paris", True),
        Check("max-words 50", "max-words", "50"),
    )
    assert parse_checks(["json", "", "# x", "stop"]) == (
        Check("json", "json"),
        Check("stop", "stop"),
    )
    assert parse_checks("") == ()
    assert parse_checks("# only a comment\n") == ()


def test_parse_checks_says_which_line_is_wrong():
    with pytest.raises(BadInputError, match=r"^Check on line 4: The regex '\(' is not valid"):
        parse_checks("json\n\n# note\nregex:(\nstop")


def test_names_must_be_unique():
    with pytest.raises(BadInputError) as caught:
        parse_checks("json\nstop\njson")
    assert "Two checks are named 'json' (lines 1 and 3)" in str(caught.value)
    assert "other=json" in str(caught.value)
    with pytest.raises(BadInputError, match="named 'x'"):
        parse_checks(["x=json", "x=contains:a"])
    assert len(parse_checks("a=json\nb=json")) == 2


def test_at_most_twenty_checks():
    lines = [f"c{i}=contains:{i}" for i in range(MAX_CHECKS)]
    assert len(parse_checks(lines)) == MAX_CHECKS
    with pytest.raises(BadInputError, match="There are 21 checks; the limit is 20"):
        parse_checks(lines + ["# comments do not count", "stop"])


EVERY_KIND = [
    "contains:Paris",
    "contains/i:as an AI",
    "not-contains:I cannot",
    "not-contains/i:as an AI",
    "regex:^Paris",
    "capital=regex/i:^(paris|lyon)\\b",
    "regex:a=b:c",
    "equals",
    "equals/i",
    "answer=equals",
    "json",
    f"json-schema:{PERSON}",
    "person=json-schema:true",
    "max-words:50",
    "max-chars:280",
    "short=max-chars:020",
    "stop",
    "contains:" + "long " * 20 + "tail",
    "regex:a:b=c",
    "名字=contains:巴黎",
]


@pytest.mark.parametrize("text", EVERY_KIND)
def test_round_trips_through_spec_and_dict(text):
    check = parse_check(text)
    assert parse_check(check.spec()) == check
    data = json.loads(json.dumps(check.to_dict()))
    assert data == {
        "name": check.name,
        "kind": check.kind,
        "arg": check.arg,
        "ignore_case": check.ignore_case,
    }
    assert Check.from_dict(data) == check


def test_every_kind_is_in_the_round_trips():
    assert {parse_check(text).kind for text in EVERY_KIND} == set(KINDS)


def test_spec_leaves_out_a_default_name_and_keeps_a_chosen_one():
    assert parse_check("regex:^Paris").spec() == "regex:^Paris"
    assert parse_check(" capital = regex/i:^paris").spec() == "capital=regex/i:^paris"
    assert Check("done", "stop").spec() == "done=stop"
    assert parse_check("json:").spec() == "json"


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (["json"], "must be a JSON object"),
        ({"kind": "json"}, "name and kind required"),
        ({"name": "x"}, "name and kind required"),
        ({"name": "x", "kind": "json", "timeout": 5}, "name and kind required"),
        ({"name": "x", "kind": "eval"}, "Unknown check kind 'eval'"),
        ({"name": "x", "kind": "Regex", "arg": "a"}, "Unknown check kind 'Regex'"),
        ({"name": "x", "kind": "regex", "arg": "("}, "The regex '(' is not valid"),
        ({"name": "x", "kind": "regex", "arg": "(a+)+"}, "repeats a repeat"),
        ({"name": "x", "kind": "regex"}, "regex needs an argument"),
        ({"name": "x", "kind": "contains", "arg": "a\nb"}, "must be one line"),
        ({"name": "x", "kind": "contains", "arg": " a "}, "without surrounding spaces"),
        ({"name": "x", "kind": "contains", "arg": "x" * 10_001}, "the limit is 10,000"),
        ({"name": "x", "kind": "json", "arg": "x"}, "json takes no argument"),
        ({"name": "x", "kind": "json", "arg": ""}, "json takes no argument"),
        ({"name": "x", "kind": "json", "ignore_case": True}, "/i (ignore case) applies only"),
        ({"name": "x", "kind": "contains", "arg": "a", "ignore_case": "yes"}, "true or false"),
        ({"name": "x", "kind": "contains", "arg": "a", "ignore_case": 1}, "true or false"),
        ({"name": "x", "kind": "max-words", "arg": 5}, "must be text, not int"),
        ({"name": "x", "kind": "max-words", "arg": "0"}, "whole number from 1"),
        ({"name": "x", "kind": "json-schema", "arg": '{"type": 12}'}, "JSON Schema is not valid"),
        ({"name": "a=b", "kind": "json"}, "The check name 'a=b' cannot be used"),
        ({"name": "a:b", "kind": "json"}, "The check name 'a:b' cannot be used"),
        ({"name": "a\nb", "kind": "json"}, "cannot be used"),
        ({"name": " a", "kind": "json"}, "cannot be used"),
        ({"name": "", "kind": "json"}, "name is empty"),
        ({"name": 5, "kind": "json"}, "name must be text, not int"),
    ],
)
def test_from_dict_refuses_a_tampered_check(data, fragment):
    with pytest.raises(BadInputError) as caught:
        Check.from_dict(data)
    assert fragment in str(caught.value)


def test_from_dict_takes_a_default_name_that_a_typed_name_could_not_be():
    data = {"name": "regex a:b=c", "kind": "regex", "arg": "a:b=c", "ignore_case": False}
    assert Check.from_dict(data) == parse_check("regex:a:b=c")
    assert Check.from_dict({"name": "x", "kind": "json"}) == Check("x", "json")


def test_a_check_is_valid_by_construction():
    with pytest.raises(BadInputError, match="is not valid"):
        Check("bad", "regex", "(")
    with pytest.raises(BadInputError, match="needs an argument"):
        Check("short", "max-words")


def test_evaluate_all_keys_verdicts_by_name_in_check_order():
    checks = parse_checks("stop\ncapital=contains:Paris\nequals\nmax-words:1")
    verdicts = evaluate_all(checks, "Paris, France", "length", expected="Paris")
    assert list(verdicts) == ["stop", "capital", "equals", "max-words 1"]
    assert [v.passed for v in verdicts.values()] == [False, True, False, False]
    assert evaluate_all((), "x", "stop") == {}


@pytest.mark.parametrize(
    ("verdicts", "rate", "at_k", "all_k"),
    [
        ([], None, None, None),
        ([None, None], None, None, None),
        ([True], 1.0, True, True),
        ([False], 0.0, False, False),
        ([True, False], 0.5, True, False),
        ([True, True, None], 1.0, True, True),
        ([False, None, False], 0.0, False, False),
        ([True, False, None, True], 2 / 3, True, False),
        ([False, False, False, True], 0.25, True, False),
    ],
)
def test_pass_rate_pass_at_k_and_pass_all_k(verdicts, rate, at_k, all_k):
    assert pass_rate(verdicts) == rate
    assert pass_at_k(verdicts) is at_k
    assert pass_all_k(verdicts) is all_k
    # one pass over an iterator is enough
    assert pass_rate(iter(verdicts)) == rate
    assert pass_at_k(iter(verdicts)) is at_k
    assert pass_all_k(iter(verdicts)) is all_k
