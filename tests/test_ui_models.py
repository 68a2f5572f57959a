"""The Models tab without a browser: table shaping, a GGUF import with progress, and the
message when the Hugging Face hub is out of reach (HF_HUB_OFFLINE=1 in tests)."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest

from tests.test_gguf import gguf_metadata, gguf_tensors, tiny_llama, write_gguf
from tests.test_ollama import write_ollama_model, write_yi
from yilab.i18n import Translator
from yilab.ui.models import (
    COLUMNS,
    ModelsTab,
    build_models_tab,
    human_size,
    import_target,
    model_rows,
    resolve_and_report,
)


class Progress:
    """Records what a handler reports, like ``gr.Progress`` is called."""

    def __init__(self):
        self.calls: list[tuple[float, str]] = []

    def __call__(self, fraction: float, desc: str | None = None) -> None:
        self.calls.append((fraction, desc))


def test_rows_follow_the_columns():
    models = [
        {
            "name": "smollm2-135m-instruct",
            "source": "default",
            "path": "/h/models/smollm2",
            "size_bytes": 538090403,
            "quantization": "float32",
        },
        {
            "name": "yi:6b-chat",
            "source": "ollama",
            "path": None,
            "size_bytes": 3_500_000_000,
            "quantization": "Q4_0",
            "architecture": "llama",
            "convertible": True,
            "unsupported_reason": None,
        },
        {
            "name": "qwen2.5:0.5b",
            "source": "ollama",
            "path": None,
            "size_bytes": 397_000_000,
            "quantization": "Q4_K_M",
            "architecture": "qwen2",
            "convertible": False,
            "unsupported_reason": "unsupported GGUF architecture 'qwen2' (supported: llama)",
        },
    ]
    rows = model_rows(models, "cpu")
    assert COLUMNS == ["name", "source", "path", "size", "quantization", "architecture", "device"]
    assert rows[0] == [
        "smollm2-135m-instruct",
        "default",
        "/h/models/smollm2",
        "513.2 MB",
        "float32",
        "",
        "cpu",
    ]
    assert rows[1][2] == "(GGUF, converted on first use)" and rows[1][3] == "3.3 GB"
    assert rows[1][5] == "llama"
    assert rows[2][2] == (
        "(cannot convert: unsupported GGUF architecture 'qwen2' (supported: llama))"
    )
    assert (rows[2][4], rows[2][5]) == ("Q4_K_M", "qwen2")
    remote = {"name": "r", "source": "remote", "path": "http://h/v1"}
    zh = [row[1] for row in model_rows([*models, remote], "cpu", Translator("zh-CN"))]
    assert zh == ["默认", "Ollama", "Ollama", "远程"]
    assert model_rows([remote], "cpu", Translator("zh-CN"))[0][6] == "服务器"
    assert model_rows([{**remote, "source": "elsewhere"}], "cpu")[0][1] == "elsewhere"


@pytest.mark.parametrize(
    "size, text",
    [(None, ""), (0, "0 B"), (1023, "1023 B"), (1024, "1.0 KB"), (5 * 2**40, "5.0 TB")],
)
def test_human_size(size, text):
    assert human_size(size) == text


def test_import_target_prefers_the_upload(tmp_path):
    class Upload:
        name = str(tmp_path / "m.gguf")

    assert import_target("  yi:6b-chat ", None) == "yi:6b-chat"
    assert import_target("ignored", Upload()) == str(tmp_path / "m.gguf")
    assert import_target("ignored", "/tmp/x.gguf") == "/tmp/x.gguf"
    assert import_target(None, None) == ""


def test_importing_a_gguf_converts_it_with_progress(service, tmp_path):
    model, config = tiny_llama()
    gguf = write_gguf(tmp_path / "tiny.gguf", gguf_tensors(model, config), gguf_metadata(config))
    progress = Progress()
    status, rows = resolve_and_report(service, str(gguf), progress)
    assert "yl-notice-ok" in status and "Ready: tiny.gguf (gguf)" in status
    assert progress.calls and progress.calls[-1][0] == 1.0
    converted = [r for r in rows if r[1] == "converted"]
    assert len(converted) == 1 and (Path(converted[0][2]) / "config.json").is_file()
    again = Progress()
    status, _ = resolve_and_report(service, str(gguf), again)  # cached: no second conversion
    assert "Ready: tiny.gguf" in status and not any("Converting" in m for _, m in again.calls)


def test_the_table_lists_the_ollama_store_and_imports_an_ollama_model(service, tmp_path):
    root = tmp_path / "ollama"  # $OLLAMA_MODELS, from conftest
    write_yi(root, tmp_path)
    model, config = tiny_llama()
    neox = write_gguf(
        tmp_path / "neox.gguf", gguf_tensors(model, config), gguf_metadata(config, arch="gptneox")
    )
    write_ollama_model(root, neox.read_bytes(), name="neox", tag="latest")
    rows = {r[0]: r for r in model_rows(service.list_models(), "cpu")}
    assert rows["yi:6b-chat"][2] == "(GGUF, converted on first use)"
    assert (rows["yi:6b-chat"][4], rows["yi:6b-chat"][5]) == ("F32", "llama")
    assert rows["neox:latest"][2].startswith("(cannot convert: unsupported GGUF architecture")
    status, table = resolve_and_report(service, "yi:6b-chat", Progress())
    assert "Ready: yi:6b-chat (ollama)" in status
    rows = {r[0]: r for r in table}
    assert (Path(rows["yi:6b-chat"][2]) / "ollama.json").is_file()
    status, _ = resolve_and_report(service, "neox", Progress())
    assert "yl-notice-error" in status
    assert "Ollama model neox:latest cannot be converted: unsupported GGUF architecture" in status


def test_offline_download_says_so(service):
    status, rows = resolve_and_report(service, "some-org/some-model", Progress())
    assert "yl-notice-error" in status and "no connection to huggingface.co (offline)" in status
    assert any(r[0] == "smollm2-135m-instruct" for r in rows)


def test_errors_and_empty_input_are_messages(service):
    status, _ = resolve_and_report(service, "/no/such/file.gguf", Progress())
    assert "yl-notice-error" in status and "no such file or folder" in status
    status, table = resolve_and_report(service, "", Progress())
    assert "yl-notice-warn" in status


def test_the_tab_builds(service):
    with gr.Blocks() as demo:
        tab = build_models_tab(service)
    assert demo.get_api_info()["named_endpoints"] == {}
    assert isinstance(tab, ModelsTab) and tab.table.elem_id == "yl-models-table"
