"""Run logs for the sharing tests: written straight through the Store API (no generation), or
filled by one real sweep on the tiny model (:func:`swept_log`)."""

from __future__ import annotations

from pathlib import Path

from yilab.experiment.sweep import SweepSpec
from yilab.runlog.store import Store

XSS = "<img src=x onerror=alert(1)>"
SYSTEM = "You are a secret pirate."


def add_experiment(
    store: Store,
    outputs: list[str],
    *,
    system: str | None = SYSTEM,
    prompt: str = "Name a city.",
    temperatures=(0.0, 0.7),
    seeds=(1, 2),
) -> str:
    """A finished experiment, cells in grid order (temperature-major); the 4th hits max_tokens."""
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt}
    ]
    sweep = {
        "prompt": prompt,
        "system": system,
        "temperatures": list(temperatures),
        "seeds": list(seeds),
        "top_ps": [1.0],
        "max_tokens": [32],
    }
    exp = store.create_experiment(model="tiny", prompt=prompt, sweep=sweep, system_prompt=system)
    for i, output in enumerate(outputs):
        temperature, seed = temperatures[i // len(seeds) % len(temperatures)], seeds[i % len(seeds)]
        run = store.start_run(
            experiment_id=exp,
            cell_index=i,
            settings={
                "model": "tiny",
                "model_path": "/models/tiny",
                "model_fingerprint": "0123456789abcdef",
                "temperature": temperature,
                "seed": seed,
                "top_p": 1.0,
                "max_tokens": 32,
                "messages": messages,
                "stop_token_ids": [2],
                "rendered_prompt": f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{prompt}",
                "versions": {"mlx": "0.32.4", "yilab": "0.1.0"},
                "engine_mode": "single",
            },
        )
        store.finish_run(
            run,
            status="done",
            finish_reason="length" if i == 3 else "stop",
            output=output,
            metrics={
                "prompt_tokens": 9,
                "generation_tokens": 5 + i,
                "ttft_s": 0.02,
                "generation_tps": 150.0 + i,
            },
        )
    return exp


def swept_log(path: Path, model_dir: Path, *, temperatures=(0, 0.7), max_tokens: int = 12) -> Path:
    """A run log at ``path`` filled by a real 2-temperature × 2-seed sweep on ``model_dir``."""
    from yilab.service import Service

    service = Service(path)
    service.run_sweep(
        SweepSpec(
            prompt="Tell me a story",
            system="Be brief",
            models=(str(model_dir),),
            temperatures=temperatures,
            seeds=(1, 2),
            max_tokens=(max_tokens,),
        )
    )
    service.close()
    return path
