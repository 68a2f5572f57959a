"""Prompt variables and the inputs table: parsing, filling, refusals, and the grid they make."""

from __future__ import annotations

import pytest

from yilab.errors import BadInputError
from yilab.experiment.checks import parse_checks
from yilab.experiment.sweep import MAX_CELLS, SweepSpec, expand_sweep, grid_size
from yilab.experiment.variables import (
    check_inputs,
    fill,
    inputs_csv,
    inputs_from_vars,
    parse_var,
    placeholders,
    read_inputs,
    section_label,
)


def test_placeholders_are_words_in_double_braces_in_first_use_order():
    assert placeholders("{{ b }} {{a}} {{b}}", "{{城市}}") == ("b", "a", "城市")
    assert placeholders('{"a": {"b": 1}}', "{{1x}} {{a b}} {single}") == ()


def test_fill_replaces_once_and_leaves_other_braces():
    assert fill("{{x}} and {{ y }} {z}", {"x": "{{y}}", "y": "2"}) == "{{y}} and 2 {z}"
    with pytest.raises(BadInputError, match=r"No value for \{\{y\}\}"):
        fill("{{x}} {{y}}", {"x": "1"})


def test_parse_var_and_rows_from_vars():
    assert parse_var(" city = New York ") == ("city", "New York")
    assert parse_var("eq=a=b") == ("eq", "a=b")
    for bad in ("city", "=x", "1a=2", "a b=c"):
        with pytest.raises(BadInputError, match="name=value"):
            parse_var(bad)
    assert inputs_from_vars([("a", "1"), ("b", "2")]) == ({"a": "1", "b": "2"},)
    assert inputs_from_vars([]) == ()
    with pytest.raises(BadInputError, match="given twice"):
        inputs_from_vars([("a", "1"), ("a", "2")])


def test_read_csv_jsonl_and_json():
    csv_text = "\ufeffcountry,expected\nFrance,Paris\n\n中国,北京\n"
    assert read_inputs(csv_text, "in.csv") == (
        {"country": "France", "expected": "Paris"},
        {"country": "中国", "expected": "北京"},
    )
    jsonl = '{"n": 2, "ok": true, "x": null}\n\n{"n": 3.5, "ok": false, "x": "s"}\n'
    assert read_inputs(jsonl, "in.jsonl") == (
        {"n": "2", "ok": "true", "x": ""},
        {"n": "3.5", "ok": "false", "x": "s"},
    )
    assert read_inputs('[{"q": "hi"}]', "in.json") == ({"q": "hi"},)


@pytest.mark.parametrize(
    ("text", "name", "message"),
    [
        ("", "in.csv", "empty"),
        ("a,a\n1,2\n", "in.csv", "twice: a"),
        ("a,b\n1\n", "in.csv", "Line 2 .* 1 values for 2 columns"),
        ("a\n\n", "in.csv", "no input rows"),
        ("my col\nx\n", "in.csv", "not a usable column name"),
        ('{"a": 1}\n{oops\n', "in.jsonl", "Line 2 .* not valid JSON"),
        ('{"a": [1]}\n', "in.jsonl", "is a list"),
        ('["x"]\n', "in.jsonl", "must be an object"),
        ('{"a": 1}', "in.json", "list of objects"),
    ],
)
def test_bad_inputs_files_say_what_is_wrong(text, name, message):
    with pytest.raises(BadInputError, match=message):
        read_inputs(text, name)


def test_too_many_rows_is_refused():
    text = "a\n" + "".join(f"{i}\n" for i in range(65))
    with pytest.raises(BadInputError, match="65 rows; the limit is 64"):
        read_inputs(text, "in.csv")


def test_inputs_csv_round_trips():
    rows = ({"q": 'say "hi", then\nstop', "expected": ""}, {"q": "童话", "expected": "x"})
    assert read_inputs(inputs_csv(rows), "back.csv") == rows


def test_check_inputs_against_the_prompt():
    check_inputs((), "no variables")
    with pytest.raises(BadInputError, match=r"uses \{\{city\}\}.*--var city="):
        check_inputs((), "Weather in {{city}}?")
    with pytest.raises(BadInputError, match=r"row 2 has no value for \{\{city\}\}"):
        check_inputs(({"city": "Oslo"}, {"town": "Rome"}), "Weather in {{city}}?")
    with pytest.raises(BadInputError, match="names none of them"):
        check_inputs(({"city": "Oslo"},), "Weather?")
    check_inputs(({"expected": "4"},), "2+2?")  # only an expected value: fine
    check_inputs(({"city": "Oslo", "id": "7"},), "{{city}}", "system about {{city}}")


def test_section_label():
    assert section_label({"a": "x  y\nz", "expected": "e", "b": "2"}) == "a=x y z · b=2"
    assert section_label({"expected": "e"}) == "(no variables)"
    assert section_label({"a": "x" * 100}, width=10) == "a=xxxxxxx…"


def spec(**kwargs) -> SweepSpec:
    base = {"prompt": "Capital of {{country}}?", "temperatures": (0.0, 0.7), "seeds": (1, 2)}
    return SweepSpec(**(base | kwargs))


def test_inputs_are_the_outer_axis_of_the_grid_and_fill_each_cell():
    s = spec(
        system="Answer about {{country}} in one word.",
        inputs=({"country": "France"}, {"country": "日本"}),
    )
    cells = expand_sweep(s)
    assert grid_size(s) == len(cells) == 8
    assert [c.input_index for c in cells] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert [(c.temperature, c.seed) for c in cells[4:]] == [(0.0, 1), (0.0, 2), (0.7, 1), (0.7, 2)]
    assert s.messages(1) == [
        {"role": "system", "content": "Answer about 日本 in one word."},
        {"role": "user", "content": "Capital of 日本?"},
    ]
    assert s.variables(0) == {"country": "France"}
    raw = spec(raw=True, inputs=({"country": "Peru"},))
    assert raw.messages(0) is None and raw.prompt_text(0) == "Capital of Peru?"


def test_the_cell_limit_counts_every_input():
    rows = tuple({"country": str(i)} for i in range(17))
    with pytest.raises(BadInputError, match=r"68 cells \(17 inputs × 4\); the limit is 64"):
        expand_sweep(spec(inputs=rows))
    assert len(expand_sweep(spec(inputs=rows[:16]))) == MAX_CELLS


def test_spec_round_trips_inputs_and_checks():
    s = spec(
        inputs=({"country": "France", "expected": "Paris"},),
        checks=parse_checks("capital=equals\nregex/i:^par"),
    )
    again = SweepSpec.from_dict(s.to_dict())
    assert again == s
    assert "inputs" not in spec(prompt="plain").to_dict()


def test_an_equals_check_needs_an_expected_column():
    with pytest.raises(BadInputError, match="'expected' column"):
        expand_sweep(spec(inputs=({"country": "France"},), checks=parse_checks("equals")))
    expand_sweep(spec(inputs=({"country": "France", "expected": "Paris"},)))
