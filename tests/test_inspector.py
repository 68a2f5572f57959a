"""The inspector over config files: fixtures of real models, every input shape, and a
property test that mutated configs never crash it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yilab.errors import InspectorError, YilabError
from yilab.inspector.diagnose import VERDICTS, inspect_model

FIXTURES = Path(__file__).parent / "fixtures" / "models"
YI = Path(__file__).parent / "fixtures" / "yi-6b-chat-2023"

CHATML = (
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
DECODER = {
    "0": {"content": "<|endoftext|>", "special": True},
    "1": {"content": "<|im_start|>", "special": True},
    "2": {"content": "<|im_end|>", "special": True},
}


def write_model(path: Path, crlf: bool = False, **files) -> Path:
    """A model dir from keyword files: ``tokenizer_config={...}`` → tokenizer_config.json.
    A str value is written as is (to write broken JSON or a Jinja template)."""
    path.mkdir(parents=True, exist_ok=True)
    for key, value in files.items():
        name = key.replace("__", ".") if "__" in key else f"{key}.json"
        text = value if isinstance(value, str) else json.dumps(value, indent=2)
        (path / name).write_bytes(text.replace("\n", "\r\n" if crlf else "\n").encode())
    return path


def chatml_model(path: Path, eos="<|endoftext|>", generation=None, **extra) -> Path:
    """A config-only ChatML model whose eos is ``eos``."""
    tokenizer = {"eos_token": eos, "bos_token": "<|im_start|>", "chat_template": CHATML}
    tokenizer["added_tokens_decoder"] = DECODER
    files = {"tokenizer_config": tokenizer, "config": {"eos_token_id": 0, "vocab_size": 320}}
    if generation is not None:
        files["generation_config"] = generation
    files.update(extra)
    return write_model(path, **files)


# ---- the Yi fixture and the well-known models ---------------------------------------


def test_yi_fixture_is_eos_mismatch():
    report = inspect_model(YI)
    assert report.verdict == "eos_mismatch"
    assert (report.chat_template.turn_end, report.chat_template.turn_end_id) == ("<|im_end|>", 7)
    assert report.chat_template.source == "tokenizer_config.json"
    assert report.stop_ids == [2]
    assert report.eos.token == "<|endoftext|>" and report.eos.id == 2
    assert report.fix.needed and report.fix.extra_eos_ids == [7]
    assert report.fix.ollama_modelfile == 'PARAMETER stop "<|im_end|>"'
    assert "--extra-eos-token '<|im_end|>'" in report.fix.mlx_lm_cli
    assert "eos_mismatch" in {p.code for p in report.problems}


def test_report_json_contract():
    doc = json.loads(json.dumps(inspect_model(YI).to_dict()))
    assert {"verdict", "chat_template", "bos", "eos", "stop_tokens", "problems", "fix"} <= set(doc)
    assert {"source", "turn_end"} <= set(doc["chat_template"])
    assert set(doc["stop_tokens"][0]) >= {"token", "id", "source"}
    assert set(doc["problems"][0]) >= {"code", "severity", "file", "message"}
    conflicts = {(f, s["key"]) for f, items in doc["files"].items() for s in items if s["conflict"]}
    assert ("tokenizer_config.json", "eos_token") in conflicts
    assert ("tokenizer_config.json", "bos_token") not in conflicts


KNOWN = [
    ("llama-3-8b-instruct-2024-04", "eos_mismatch", "<|eot_id|>", 128009, set()),
    ("llama-3.1-8b-instruct", "ok", "<|eot_id|>", 128009, set()),
    ("qwen2.5-7b-instruct", "ok", "<|im_end|>", 151645, set()),
    ("gemma-2-9b-it", "tokenizer_eos_mismatch", "<end_of_turn>", 107, {"double_bos"}),
    ("phi-3-mini-4k-instruct", "tokenizer_eos_mismatch", "<|end|>", 32007, {"pad_is_eos"}),
    ("mistral-7b-instruct-v0.2", "ok", "</s>", 2, {"double_bos", "no_system_role"}),
    ("mistral-7b-v0.1", "no_chat_template", None, None, set()),
]


@pytest.mark.parametrize("name, verdict, turn_end, turn_end_id, codes", KNOWN)
def test_well_known_models(name, verdict, turn_end, turn_end_id, codes):
    report = inspect_model(FIXTURES / name)
    assert report.verdict == verdict
    assert (report.chat_template.turn_end, report.chat_template.turn_end_id) == (
        turn_end,
        turn_end_id,
    )
    assert codes <= {p.code for p in report.problems}
    assert not [p for p in report.problems if p.code in {"unknown_token_id", "template_error"}]


def test_llama3_fix_plan_matches_metas_own_fix():
    plan = inspect_model(FIXTURES / "llama-3-8b-instruct-2024-04").fix
    changes = {(c.file, tuple(c.key)): c.new for c in plan.changes}
    assert changes[("tokenizer_config.json", ("eos_token",))] == "<|eot_id|>"
    assert changes[("generation_config.json", ("eos_token_id",))] == [128001, 128009]


def test_tokenizer_eos_mismatch_offers_an_optional_fix():
    report = inspect_model(FIXTURES / "gemma-2-9b-it")
    assert not report.fix.needed and report.fix.extra_eos_ids == []
    assert [c.file for c in report.fix.changes][0] == "tokenizer_config.json"
    assert 107 in report.stop_ids and "generation_config.json" in report.summary


# ---- input shapes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "eos",
    [
        "<|im_end|>",
        {"__type": "AddedToken", "content": "<|im_end|>", "normalized": False},
        {"content": "<|im_end|>", "special": True},
        2,
    ],
)
def test_eos_shapes_give_ok(tmp_path, eos):
    report = inspect_model(chatml_model(tmp_path, eos=eos))
    assert report.verdict == "ok"
    assert (report.eos.token, report.eos.id) == ("<|im_end|>", 2)


@pytest.mark.parametrize(
    "generation, verdict, stop_ids",
    [
        ({"eos_token_id": [0, 2]}, "tokenizer_eos_mismatch", [0, 2]),
        ({"eos_token_id": 2}, "tokenizer_eos_mismatch", [0, 2]),
        ({"eos_token_id": 0}, "eos_mismatch", [0]),  # falsy: mlx-lm reads config.json's
        ({"eos_token_id": []}, "eos_mismatch", [0]),
        ({"eos_token_id": None}, "eos_mismatch", [0]),
        ({}, "eos_mismatch", [0]),
    ],
)
def test_generation_config_eos_shapes(tmp_path, generation, verdict, stop_ids):
    report = inspect_model(chatml_model(tmp_path, generation=generation))
    assert report.verdict == verdict
    assert sorted(report.stop_ids) == stop_ids


def test_config_json_list_fallback(tmp_path):
    model = chatml_model(tmp_path, config={"eos_token_id": [0, 2]})
    report = inspect_model(model)
    assert report.verdict == "tokenizer_eos_mismatch"
    assert any("config.json eos_token_id" in s.sources for s in report.stop_tokens)


def test_ids_from_added_tokens_json(tmp_path):
    tokenizer = {"eos_token": "<|endoftext|>", "chat_template": CHATML}
    added = {"<|endoftext|>": 0, "<|im_start|>": 1, "<|im_end|>": 2}
    report = inspect_model(write_model(tmp_path, tokenizer_config=tokenizer, added_tokens=added))
    assert report.chat_template.turn_end_id == 2 and report.eos.id == 0
    assert report.verdict == "eos_mismatch"


def test_ids_from_tokenizer_json(tmp_path):
    added = [{"id": i, "content": t, "special": True} for i, t in enumerate(DECODER_TOKENS)]
    tokenizer_json = {"added_tokens": added, "model": {"type": "BPE", "vocab": {"a": 3}}}
    tokenizer = {"eos_token": "<|im_end|>", "chat_template": CHATML}
    model = write_model(tmp_path, tokenizer_config=tokenizer, tokenizer=tokenizer_json)
    report = inspect_model(model)
    assert report.verdict == "ok" and report.eos.id == 2


DECODER_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def test_unknown_ids_are_said_to_be_unknown(tmp_path):
    tokenizer = {"eos_token": "<|endoftext|>", "chat_template": CHATML}
    report = inspect_model(write_model(tmp_path, tokenizer_config=tokenizer))
    assert report.chat_template.turn_end == "<|im_end|>"
    assert report.chat_template.turn_end_id is None and report.eos.id is None
    assert report.verdict == "eos_mismatch"
    assert "unknown_token_id" in {p.code for p in report.problems}
    assert report.fix.extra_eos_ids == [] and report.fix.changes


def test_crlf_files_read_the_same(tmp_path):
    plain = inspect_model(chatml_model(tmp_path / "lf", generation={"eos_token_id": 0}))
    crlf_dir = tmp_path / "crlf"
    for src in (tmp_path / "lf").iterdir():
        write_model(crlf_dir, crlf=True, **{src.name.replace(".", "__"): src.read_text()})
    crlf = inspect_model(crlf_dir)
    assert b"\r\n" in (crlf_dir / "tokenizer_config.json").read_bytes()
    assert crlf.verdict == plain.verdict == "eos_mismatch"
    assert crlf.chat_template.turn_end_id == 2


def test_bom_is_accepted(tmp_path):
    model = chatml_model(tmp_path, eos="<|im_end|>")
    path = model / "tokenizer_config.json"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert inspect_model(model).verdict == "ok"


@pytest.mark.parametrize(
    "name, text, code",
    [
        ("tokenizer_config.json", '{"eos_token": "<|im_end|>", ', "invalid_json"),
        ("generation_config.json", "[1, 2]", "invalid_json"),
        ("config.json", b"\xff\xfe{}", "invalid_json"),
        ("tokenizer.json", "{", "invalid_json"),
        ("chat_template.jinja", b"\xff{{", "unreadable_file"),
    ],
)
def test_unparsable_file_is_invalid_config(tmp_path, name, text, code):
    model = chatml_model(tmp_path)
    (model / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    report = inspect_model(model)
    assert report.verdict == "invalid_config"
    problem = next(p for p in report.problems if p.code == code)
    assert problem.file == name and problem.severity == "error"
    assert name in report.summary


@pytest.mark.parametrize("eos", [[[2]], 2.5, True, "", {"content": 5}, ["<|im_end|>"]])
def test_unusable_eos_value_is_invalid_config(tmp_path, eos):
    report = inspect_model(chatml_model(tmp_path, eos=eos))
    assert report.verdict == "invalid_config"
    assert "invalid_value" in {p.code for p in report.problems}


@pytest.mark.parametrize("template", [{"default": CHATML}, 3, [{"name": "x"}]])
def test_unusable_template_value_is_invalid_config(tmp_path, template):
    model = chatml_model(tmp_path)
    config = json.loads((model / "tokenizer_config.json").read_text())
    write_model(model, tokenizer_config={**config, "chat_template": template})
    report = inspect_model(model)
    assert report.verdict == "invalid_config" and report.chat_template.source is None


def test_template_precedence(tmp_path):
    """As transformers 5 loads it: chat_template.jinja over tokenizer_config.json, and never
    chat_template.json (which yilab used to read first; tests/test_template_loading.py
    checks this against a real tokenizer load)."""
    other = CHATML.replace("<|im_end|>", "<|endoftext|>")
    model = chatml_model(tmp_path, chat_template={"chat_template": other})
    report = inspect_model(model)
    assert report.chat_template.source == "tokenizer_config.json"
    assert report.chat_template.turn_end == "<|im_end|>"
    assert report.chat_template.ignored == ["chat_template.json"]
    assert "template_ignored" in {p.code for p in report.problems}
    write_model(model, chat_template__jinja=other)
    report = inspect_model(model)
    assert report.chat_template.source == "chat_template.jinja"
    assert report.chat_template.turn_end == "<|endoftext|>"


def test_named_template_list_picks_default(tmp_path):
    templates = [
        {"name": "tool_use", "template": "{{ messages[0].content }}<|endoftext|>"},
        {"name": "default", "template": CHATML},
    ]
    model = chatml_model(tmp_path)
    config = json.loads((model / "tokenizer_config.json").read_text())
    write_model(model, tokenizer_config={**config, "chat_template": templates})
    report = inspect_model(model)
    assert report.chat_template.turn_end == "<|im_end|>"
    assert "template_choice" in {p.code for p in report.problems}


@pytest.mark.parametrize(
    "template",
    [
        "{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}",
        "{% set end = '<|im_end|>' %}{% for m in messages %}{{ m.content + end }}{% endfor %}",
        "{% for m in messages %}{{ m.content | trim }}  \n <|im_end|>{% endfor %}",
        "{% for m in messages %}{% generation %}{{ m.content }}{% endgeneration %}<|im_end|>{% endfor %}",
        "{% for m in messages %}{% if loop.index > 9 %}{% break %}{% endif %}{{ m.content }}<|im_end|>{% endfor %}",
    ],
)
def test_turn_end_through_variables_and_tags(tmp_path, template):
    model = chatml_model(tmp_path, eos="<|im_end|>")
    write_model(model, chat_template__jinja=template)
    report = inspect_model(model)
    assert report.chat_template.turn_end == "<|im_end|>"


def test_template_refusing_system_is_retried(tmp_path):
    refuse = "{% if messages[0].role == 'system' %}{{ raise_exception('no system') }}{% endif %}"
    model = chatml_model(tmp_path, eos="<|im_end|>", chat_template__jinja=refuse + CHATML)
    report = inspect_model(model)
    assert report.verdict == "ok" and "no_system_role" in {p.code for p in report.problems}


@pytest.mark.parametrize("template", ["{% for m in messages %}", "{{ raise_exception('never') }}"])
def test_broken_template_is_invalid_config(tmp_path, template):
    report = inspect_model(chatml_model(tmp_path, chat_template__jinja=template))
    assert report.verdict == "invalid_config"
    assert "template_error" in {p.code for p in report.problems}


def test_template_helpers_match_transformers(tmp_path):
    template = (
        "{{ strftime_now('%Y') }}{{ {'k': 'é<'} | tojson }}"
        "{% for m in messages %}{{ m.content }}<|im_end|>{% endfor %}"
    )
    report = inspect_model(chatml_model(tmp_path, chat_template__jinja=template))
    assert '{"k": "é<"}' in report.chat_template.example


def test_no_generation_prompt(tmp_path):
    template = (
        "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    )
    report = inspect_model(chatml_model(tmp_path, eos="<|im_end|>", chat_template__jinja=template))
    assert report.chat_template.has_generation_prompt is False
    assert "no_generation_prompt" in {p.code for p in report.problems}


def test_no_turn_end(tmp_path):
    template = "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}"
    report = inspect_model(chatml_model(tmp_path, chat_template__jinja=template))
    assert report.verdict == "ok" and report.chat_template.turn_end is None
    assert "no_turn_end" in {p.code for p in report.problems}


def test_special_tokens_map_wins_without_added_tokens_decoder(tmp_path):
    tokenizer = {"eos_token": "<|endoftext|>", "chat_template": CHATML}
    model = write_model(
        tmp_path,
        tokenizer_config=tokenizer,
        special_tokens_map={"eos_token": {"content": "<|im_end|>"}},
        added_tokens={"<|endoftext|>": 0, "<|im_end|>": 2},
    )
    report = inspect_model(model)
    assert report.eos.source == "special_tokens_map.json" and report.verdict == "ok"
    files = [c.file for c in inspect_model(chatml_model(tmp_path / "b")).fix.changes]
    assert files == ["tokenizer_config.json"]


def test_token_problems(tmp_path):
    model = chatml_model(
        tmp_path,
        eos="<|im_end|>",
        config={"eos_token_id": 400, "bos_token_id": 0, "vocab_size": 320},
    )
    tokenizer = json.loads((model / "tokenizer_config.json").read_text())
    tokenizer.update(pad_token="<|im_end|>", add_bos_token=True)
    tokenizer["chat_template"] = "{{ bos_token }}" + CHATML
    write_model(model, tokenizer_config=tokenizer)
    codes = {p.code for p in inspect_model(model).problems}
    assert {"eos_out_of_vocab", "bos_mismatch", "pad_is_eos", "double_bos"} <= codes


def test_token_id_conflict(tmp_path):
    model = chatml_model(tmp_path, added_tokens={"<|im_end|>": 9})
    problems = inspect_model(model).problems
    assert any(p.code == "token_id_conflict" and p.file == "added_tokens.json" for p in problems)


def test_not_a_directory(tmp_path):
    with pytest.raises(InspectorError):
        inspect_model(tmp_path / "missing")


def test_empty_directory(tmp_path):
    report = inspect_model(tmp_path)
    assert report.verdict == "no_chat_template"
    assert "no_config_json" in {p.code for p in report.problems}


# ---- mutated configs never crash the inspector -----------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["<|im_end|>", "x" * 100_000, "{{", "<s>"]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
# Values shaped like the real ones (AddedToken dicts, named templates, token tables), broken inside.
shaped_values = (
    json_values
    | st.fixed_dictionaries({"__type": st.just("AddedToken"), "content": json_values})
    | st.lists(
        st.fixed_dictionaries({"name": json_values, "template": json_values | st.just(CHATML)}),
        max_size=3,
    )
    | st.dictionaries(
        st.sampled_from(["0", "1", "2", "7", "x", "-1"]),
        st.fixed_dictionaries({"content": json_values}),
        max_size=3,
    )
    | st.lists(st.fixed_dictionaries({"id": json_values, "content": json_values}), max_size=3)
)
KEYS = {
    "tokenizer_config.json": [
        "eos_token",
        "bos_token",
        "pad_token",
        "unk_token",
        "chat_template",
        "added_tokens_decoder",
        "add_bos_token",
    ],
    "generation_config.json": ["eos_token_id", "bos_token_id", "pad_token_id"],
    "config.json": ["eos_token_id", "bos_token_id", "vocab_size"],
    "special_tokens_map.json": ["eos_token", "bos_token"],
    "added_tokens.json": ["<|im_end|>"],
    "chat_template.json": ["chat_template"],
    "tokenizer.json": ["added_tokens", "model", "post_processor"],
}
mutation = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(sorted(KEYS)), st.data()),
    st.tuples(st.just("truncate"), st.sampled_from(sorted(KEYS)), st.integers(0, 400)),
    st.tuples(st.just("replace"), st.sampled_from(sorted(KEYS)), json_values),
)


def _base_files() -> dict[str, dict]:
    """A complete config-only model to mutate."""
    return {
        "tokenizer_config.json": {
            "eos_token": {"__type": "AddedToken", "content": "<|endoftext|>"},
            "bos_token": "<|im_start|>",
            "chat_template": CHATML,
            "added_tokens_decoder": DECODER,
        },
        "generation_config.json": {"eos_token_id": [0, 2]},
        "config.json": {"eos_token_id": 0, "vocab_size": 320},
        "special_tokens_map.json": {"eos_token": "<|endoftext|>"},
        "added_tokens.json": {"<|im_end|>": 2},
        "chat_template.json": {"chat_template": CHATML},
        "tokenizer.json": {"added_tokens": [{"id": 2, "content": "<|im_end|>"}], "model": {}},
    }


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(mutations=st.lists(mutation, min_size=1, max_size=4), crlf=st.booleans())
def test_mutated_configs_never_crash(tmp_path_factory, mutations, crlf):
    files = {name: json.dumps(data, indent=2) for name, data in _base_files().items()}
    for kind, name, arg in mutations:
        if kind == "truncate":
            files[name] = files[name][:arg]
        elif kind == "replace":
            files[name] = json.dumps(arg)
        else:
            try:
                data = json.loads(files[name])
            except ValueError:
                continue
            if isinstance(data, dict):
                data[arg.draw(st.sampled_from(KEYS[name]))] = arg.draw(shaped_values)
                files[name] = json.dumps(data)
    model = tmp_path_factory.mktemp("m")
    for name, text in files.items():
        (model / name).write_text(text.replace("\n", "\r\n") if crlf else text)
    try:
        report = inspect_model(model)
    except YilabError as err:  # allowed by the contract, but should not happen here
        pytest.fail(f"the inspector gave up: {err}")
    assert report.verdict in VERDICTS
    json.dumps(report.to_dict())
