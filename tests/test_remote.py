"""Remote models end to end against real servers on 127.0.0.1: ``python -m mlx_lm server``
serving the tiny model, a second one killed mid-sweep, a recording server for headers, and a
socket that never answers. Nothing is mocked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.remoteservers import silent_listener, start_mlx_server
from yilab.cli.main import main
from yilab.errors import BadInputError, InspectorError
from yilab.events import Finished, Started, Token
from yilab.experiment.sweep import SweepSpec
from yilab.models.resolve import list_models
from yilab.remote.config import config_path, find_remote, load_remotes, parse_remote_spec
from yilab.ui.common import model_choices
from yilab.ui.compare import preview_prompt, stream_grid
from yilab.ui.models import refresh_table

KEY = "sk-test-5f0c1d9e-never-logged"


def sweep_spec(model: str, **kw) -> SweepSpec:
    base = {"prompt": "Tell me a story", "models": (model,), "max_tokens": (12,)}
    return SweepSpec(**{**base, **kw})


def write_remotes(entries: dict) -> None:
    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text(json.dumps(entries))


def test_a_remote_sweep_streams_and_logs_every_run(service, mlx_server, tiny_model_dir):
    spec = sweep_spec(mlx_server.spec(), system="Be brief", temperatures=(0, 0.8), seeds=(1, 2))
    sweep = service.start_sweep(spec)
    events = list(sweep.events())
    assert sweep.wait(30) and sweep.engine == "remote"
    for cell in range(4):
        kinds = [type(e) for e in events if getattr(e, "cell", None) == cell]
        assert kinds[0] is Started and kinds[-1] is Finished and Token in kinds
    runs = service.store.get_experiment(sweep.experiment_id)["runs"]
    assert len(runs) == 4
    for run in runs:
        assert run["status"] == "done" and run["finish_reason"] == "length", run["error"]
        assert run["generation_tokens"] == 12 and run["prompt_tokens"] > 0 and run["output"]
        assert run["ttft_s"] > 0 and run["generation_tps"] > 0
        assert run["model"] == mlx_server.spec() and run["model_path"] == mlx_server.url
        assert run["engine_mode"] == "remote" and run["model_fingerprint"] is None
        versions = json.loads(run["versions_json"])
        assert versions["backend"] == "openai-compatible"
        assert versions["server_model"] == mlx_server.model_id and "system_fingerprint" in versions
        assert json.loads(run["messages_json"])[0] == {"role": "system", "content": "Be brief"}
    assert runs[0]["output"] == runs[1]["output"]  # T=0: greedy, the seed has no effect
    # the server applies the same template to the same weights: greedy output matches ours
    _, local = service.run_sweep(
        sweep_spec(str(tiny_model_dir), system="Be brief", temperatures=(0,))
    )
    assert local[0]["output"] == runs[0]["output"]


def test_a_seed_reproduces_and_replay_says_identical(service, mlx_server):
    spec = sweep_spec(mlx_server.spec(), temperatures=(0.9,), seeds=(7, 7, 8), max_tokens=(16,))
    _, runs = service.run_sweep(spec)
    assert runs[0]["output"] == runs[1]["output"] != runs[2]["output"]
    replay = service.replay(runs[2]["id"])
    assert replay.identical and replay.new["model"] == mlx_server.spec()
    assert replay.new["engine_mode"] == "remote"


def test_raw_mode_goes_to_completions(service, mlx_server):
    raw = "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n"
    _, runs = service.run_sweep(sweep_spec(mlx_server.spec(), prompt=raw, raw=True))
    assert runs[0]["status"] == "done" and runs[0]["rendered_prompt"] == raw
    assert runs[0]["generation_tokens"] == 12


def test_cancel_closes_the_stream_mid_run(service, mlx_server):
    spec = sweep_spec(mlx_server.spec(), temperatures=(0.8,), seeds=(1, 2, 3), max_tokens=(1500,))
    sweep = service.start_sweep(spec)
    for event in sweep.events():
        if isinstance(event, Token) and event.generation_tokens >= 5:
            cancelled_at = time.monotonic()
            sweep.cancel()
    assert sweep.wait(10) and time.monotonic() - cancelled_at < 3
    runs = service.store.get_experiment(sweep.experiment_id)["runs"]
    assert [r["status"] for r in runs] == ["cancelled"] * 3
    streamed = [r for r in runs if r["output"]]
    assert streamed and all(r["generation_tokens"] < 1500 for r in runs)
    _, after = service.run_sweep(sweep_spec(mlx_server.spec(), max_tokens=(4,)))
    assert after[0]["status"] == "done"  # the server is fine after the closed streams


def test_a_killed_server_gives_clean_errors_quickly(service, tiny_model_dir, tmp_path):
    server = start_mlx_server(tiny_model_dir, tmp_path)
    try:
        spec = sweep_spec(server.spec(), temperatures=(0.8,), seeds=(1, 2, 3), max_tokens=(2000,))
        sweep = service.start_sweep(spec)
        for event in sweep.events():
            if isinstance(event, Token) and server.proc.poll() is None:
                server.proc.kill()  # SIGKILL mid-stream
                killed_at = time.monotonic()
        assert sweep.wait(10) and time.monotonic() - killed_at < 5
    finally:
        server.stop()
    runs = service.store.get_experiment(sweep.experiment_id)["runs"]
    assert [r["status"] for r in runs] == ["error"] * 3
    assert all(server.url in r["error"] for r in runs)
    assert any(r["output"] and "after" in r["error"] and "chunk" in r["error"] for r in runs)


def test_an_unreachable_server_is_a_clear_error(service, recorder):
    port = int(recorder.url.rsplit(":", 1)[1].split("/")[0])
    recorder.close()  # nothing listens there any more
    started = time.monotonic()
    _, runs = service.run_sweep(sweep_spec(f"openai+http://127.0.0.1:{port}/v1#m"))
    assert time.monotonic() - started < 5
    assert runs[0]["status"] == "error" and runs[0]["finish_reason"] == "error"
    assert runs[0]["error"] == (
        f"http://127.0.0.1:{port}/v1: could not connect: connection refused (is the server running?)"
    )


def test_an_unknown_model_gives_the_servers_404_message(service, mlx_server):
    _, runs = service.run_sweep(sweep_spec(mlx_server.spec("no-such/model")))
    assert runs[0]["status"] == "error"
    assert "answered HTTP 404" in runs[0]["error"] and "/v1/chat/completions" in runs[0]["error"]
    assert "HF_HUB_OFFLINE" in runs[0]["error"]  # the server's own reason, passed on


def test_a_silent_server_times_out(service):
    listener = silent_listener()
    try:
        port = listener.getsockname()[1]
        write_remotes(
            {"mute": {"url": f"http://127.0.0.1:{port}/v1", "model": "m", "read_timeout_s": 1}}
        )
        started = time.monotonic()
        _, runs = service.run_sweep(sweep_spec("mute"))
    finally:
        listener.close()
    assert time.monotonic() - started < 5
    assert runs[0]["status"] == "error" and "sent nothing for 1 s" in runs[0]["error"]


def test_the_api_key_is_a_bearer_header_and_never_stored(service, recorder, monkeypatch):
    monkeypatch.setenv("YILAB_TEST_REMOTE_KEY", KEY)
    write_remotes(
        {
            "rec": {"url": recorder.url, "model": "echo", "api_key_env": "YILAB_TEST_REMOTE_KEY"},
            "careless": {
                "url": recorder.url,
                "model": "deny",
                "api_key_env": "YILAB_TEST_REMOTE_KEY",
            },
        }
    )
    spec = SweepSpec(prompt="Hi", models=("rec",), seeds=(5,), max_tokens=(9,), top_k=20)
    _, runs = service.run_sweep(spec)
    seen = recorder.recorded.requests[0]
    assert seen["headers"]["Authorization"] == f"Bearer {KEY}"
    assert seen["path"] == "/v1/chat/completions"
    body = seen["body"]
    assert (body["model"], body["seed"], body["max_tokens"], body["top_k"]) == ("echo", 5, 9, 20)
    assert body["stream"] is True and body["messages"] == [{"role": "user", "content": "Hi"}]
    assert "min_p" not in body and "repetition_penalty" not in body
    run = runs[0]
    assert (run["output"], run["finish_reason"], run["status"]) == ("Hello world", "stop", "done")
    assert run["generation_tokens"] == 2  # no usage sent: chunks counted
    assert json.loads(run["versions_json"])["server_model"] == "recorder-model"
    _, denied = service.run_sweep(sweep_spec("careless"))
    assert "HTTP 401" in denied[0]["error"] and "bad key: Bearer ***" in denied[0]["error"]
    # everything is written by now: look at the raw bytes of the db and its WAL
    stored = b"".join(
        p.read_bytes() for p in service.db_path.parent.glob(service.db_path.name + "*")
    )
    assert KEY.encode() not in stored and b"sk-test" not in stored


def test_a_missing_key_variable_is_refused_before_anything_is_logged(service, recorder):
    write_remotes({"rec": {"url": recorder.url, "model": "echo", "api_key_env": "NO_SUCH_VAR"}})
    with pytest.raises(BadInputError, match="set the environment variable NO_SUCH_VAR"):
        service.start_sweep(sweep_spec("rec"))
    assert service.store.list_experiments() == [] and recorder.recorded.requests == []


def test_cells_run_concurrently_up_to_the_limit(service, recorder):
    write_remotes({"rec": {"url": recorder.url, "model": "slow", "max_concurrency": 2}})
    started = time.monotonic()
    _, runs = service.run_sweep(sweep_spec("rec", seeds=(1, 2, 3, 4)))
    assert [r["status"] for r in runs] == ["done"] * 4
    assert recorder.recorded.max_in_flight == 2
    assert time.monotonic() - started < 3.6  # 4 cells × ~0.9 s, two at a time


def test_mixing_local_and_remote_models_is_refused(service, tiny_model_dir, recorder):
    spec = SweepSpec(prompt="Hi", models=(str(tiny_model_dir), f"openai+{recorder.url}#echo"))
    with pytest.raises(BadInputError, match="run them as two sweeps"):
        service.start_sweep(spec)
    assert service.store.list_experiments() == []


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "is not valid JSON"),
        ('["a"]', "expected an object"),
        ('{"x": {"url": "http://h/v1"}}', "url and model must both be given"),
        ('{"x": {"url": "ftp://h/v1", "model": "m"}}', "must start with http:// or https://"),
        ('{"x": {"url": "http://u:p@h/v1", "model": "m"}}', "no credentials in the URL"),
        ('{"x": {"url": "http://h/v1", "model": "m", "api_key": "sk-1"}}', "never stored here"),
        ('{"x": {"url": "http://h/v1", "model": "m", "api_key_env": "sk-1"}}', "NAME of an"),
        ('{"x": {"url": "http://h/v1", "model": "m", "max_concurrency": 0}}', "from 1 to 64"),
        ('{"x": {"url": "http://h/v1", "model": "m", "colour": "red"}}', "unknown field"),
    ],
)
def test_a_malformed_remotes_file_is_a_clear_error(content, message):
    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text(content)
    with pytest.raises(BadInputError, match=message) as info:
        load_remotes()
    assert str(config_path()) in str(info.value)


def test_spec_syntax():
    remote = parse_remote_spec("openai+https://gpu.example:8443/v1/#Qwen/Qwen3-8B")
    assert (remote.url, remote.model, remote.name) == (
        "https://gpu.example:8443/v1",
        "Qwen/Qwen3-8B",
        "openai+https://gpu.example:8443/v1/#Qwen/Qwen3-8B",
    )
    with pytest.raises(BadInputError, match="names no model"):
        parse_remote_spec("openai+http://h:8080/v1")
    assert find_remote("smollm2-135m-instruct") is None  # no remotes.json: a local name


def test_named_remotes_are_listed_and_inspect_says_what_it_can(service, recorder, capsys):
    write_remotes({"bigmac": {"url": recorder.url, "model": "echo", "hf_id": "org/Model-8B"}})
    listed = {m["name"]: m for m in list_models()}
    assert listed["bigmac"]["source"] == "remote" and listed["bigmac"]["path"] == recorder.url
    assert refresh_table(service)[-1] == ["bigmac", "remote", recorder.url, "", "", "", "server"]
    assert "bigmac" in model_choices(service, None)
    with pytest.raises(InspectorError, match="not visible from here.*org/Model-8B"):
        service.inspect("bigmac")
    with pytest.raises(InspectorError, match='Name its Hugging Face id as "hf_id"'):
        service.inspect(f"openai+{recorder.url}#echo")
    assert preview_prompt(service, "bigmac", "chat", "", "Hi").startswith("(no preview:")
    # the Tokenizer tab and `python -m yilab inspect` resolve the folder: the same message
    assert main(["inspect", "bigmac", "--json"]) == 2
    assert "not visible from here" in json.loads(capsys.readouterr().out)["error"]


def test_the_compare_handler_streams_a_remote_grid(service, mlx_server):
    sweep = service.start_sweep(sweep_spec(mlx_server.spec(), seeds=(1, 2)))
    state = {}
    frames = list(stream_grid(sweep, state))
    assert "Done: 2 length" in frames[-1] and "engine: remote" in frames[-1]
    cells = state["view"].cells
    assert len(cells) == 2 and all(cell.run_id for cell in cells)


def test_cli_compare_against_the_server(mlx_server, tmp_path):
    cmd = [sys.executable, "-m", "yilab", "compare", "Hi", "--model", mlx_server.spec()]
    cmd += ["--seeds", "1,2", "--max-tokens", "8", "--json", "--db", str(tmp_path / "cli.db")]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=os.environ)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [(r["status"], r["generation_tokens"]) for r in doc["runs"]] == [("done", 8)] * 2
