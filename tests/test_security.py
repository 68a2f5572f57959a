"""Localhost security: loopback by default, a warning elsewhere, optional auth, no file leaks."""

import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from app import parse_auth
from tests.appserver import ROOT, free_port, running_app


@pytest.fixture(scope="module")
def app(tmp_path_factory, tiny_model_dir):
    db = tmp_path_factory.mktemp("sec") / "sec.db"
    with running_app(db=db, model=str(tiny_model_dir)) as url:
        yield url


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.mark.parametrize(
    "path",
    [
        "/gradio_api/file=/etc/passwd",
        "/gradio_api/file=../../../../../../etc/passwd",
        "/gradio_api/file=%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/file=/etc/passwd",
        "/gradio_api/file=app.py",
        "/gradio_api/file=experiments.db",
        "/static/../../../../etc/passwd",
    ],
)
def test_no_file_outside_the_app_is_served(app, path):
    status, body = get(app + path)
    assert b"root:" not in body and b"def main" not in body and b"SQLite format" not in body
    assert status != 200 or b"<html" in body.lower()  # at most the page itself


def test_the_app_listens_on_loopback_only(app):
    port = int(app.rsplit(":", 1)[1])
    try:
        out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True)
    except FileNotFoundError:
        pytest.skip("ss (iproute2) not installed")
    local_addresses = [line.split()[3] for line in out.stdout.splitlines()]
    assert local_addresses == [f"127.0.0.1:{port}"]


def test_parse_auth():
    assert parse_auth("ada:s3:cret") == ("ada", "s3:cret")
    for bad in ("ada", ":pw", "ada:"):
        with pytest.raises(Exception, match="USER:PASSWORD"):
            parse_auth(bad)


def test_non_local_host_warns_and_auth_is_required(tmp_path, tiny_model_dir):
    port = free_port()
    cmd = [sys.executable, "app.py", "--host", "0.0.0.0", "--port", str(port)]
    cmd += ["--db", str(tmp_path / "a.db"), "--model", str(tiny_model_dir), "--auth", "ada:s3cret"]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Running on" in line:
                break
        assert any("WARNING: binding 0.0.0.0" in line for line in lines), lines
        from gradio_client import Client

        url = f"http://127.0.0.1:{port}"
        with pytest.raises(Exception):  # noqa: B017 - any refusal will do; it must not connect
            Client(url, verbose=False)
        client = Client(url, auth=("ada", "s3cret"), verbose=False)
        html = client.predict(
            "", "chat", "", "Hi", "0", "1", "1.0", "3", "single", api_name="/compare"
        )
        assert "3 tokens" in html
    finally:
        proc.terminate()
        proc.wait(10)
