"""A sweep or a model that cannot fit in memory is refused before it starts."""

import pytest

from yilab.events import Finished, GenerationRequest
from yilab.generation import memory
from yilab.generation.worker import GenerationWorker


def test_kv_bytes_per_token_from_the_config(tiny_model_dir):
    # 2 layers × (keys + values) × 2 kv heads × 16 dims × 4 bytes
    assert memory.kv_bytes_per_token(tiny_model_dir) == 2 * 2 * 2 * 16 * 4


def test_free_memory_is_known_here():
    assert memory.free_bytes() > 0


def test_a_sweep_that_cannot_fit_is_refused_and_one_that_fits_runs(tiny_model_dir, monkeypatch):
    worker = GenerationWorker()
    try:
        batch = [
            GenerationRequest(
                model_path=str(tiny_model_dir),
                prompt="Hi there",
                seed=s,
                max_tokens=1000,
                engine="batch",
            )
            for s in range(8)
        ]
        per_token = memory.kv_bytes_per_token(tiny_model_dir)
        # room for one cell at a time, not for eight together
        monkeypatch.setattr(memory, "free_bytes", lambda: int(per_token * 3000 / memory.HEADROOM))
        results = [e.result for e in worker.submit(batch) if isinstance(e, Finished)]
        assert {r.finish_reason for r in results} == {"error"}
        assert "needs about" in results[0].error and "fewer cells" in results[0].error
        single = [
            GenerationRequest(
                model_path=str(tiny_model_dir), prompt="Hi there", seed=1, max_tokens=20
            )
        ]
        (result,) = [e.result for e in worker.submit(single) if isinstance(e, Finished)]
        assert result.finish_reason == "length"
    finally:
        worker.close()


def test_weights_larger_than_free_memory_are_not_loaded(tiny_model_dir, monkeypatch):
    monkeypatch.setattr(memory, "free_bytes", lambda: 1000)
    with pytest.raises(Exception, match="needs about .* GB for its weights"):
        memory.check_model_fits(tiny_model_dir)
