"""Shared prompt prefill gives each cell exactly the tokens of a run that read the prompt itself."""

import pytest
from mlx_lm import load, stream_generate

from yilab.events import Finished, GenerationRequest
from yilab.generation.prefill import PrefixCache
from yilab.generation.sampling import SeededSampler
from yilab.generation.worker import encode_prompt

LONG = "the quick brown fox jumps over the lazy dog " * 30  # ~300 tokens on the tiny tokenizer


def reference_text(model_dir, prompt: str, temperature: float, seed: int, max_tokens: int) -> str:
    """Plain mlx-lm: the whole prompt read by stream_generate itself."""
    model, tokenizer = load(str(model_dir))
    tokens = encode_prompt(tokenizer, prompt)
    sampler = SeededSampler(temperature=temperature, seed=seed)
    return "".join(
        r.text
        for r in stream_generate(model, tokenizer, tokens, max_tokens=max_tokens, sampler=sampler)
    )


@pytest.mark.parametrize("temperature, seed", [(0.0, 1), (0.8, 2), (1.2, 3)])
def test_cells_sharing_a_prefix_match_plain_mlx_lm(worker, tiny_model_dir, temperature, seed):
    requests = [
        GenerationRequest(
            model_path=str(tiny_model_dir),
            prompt=LONG,
            temperature=t,
            seed=s,
            max_tokens=40,
            numerics="plain",  # mlx-lm's own numerics, as the reference has them
        )
        for t, s in [(0.5, 9), (temperature, seed), (0.9, 4)]
    ]
    results = {e.cell: e.result for e in worker.submit(requests) if isinstance(e, Finished)}
    assert results[0].prompt_tokens > 250
    expected = reference_text(tiny_model_dir, LONG, temperature, seed, 40)
    assert results[1].text == expected


def test_the_prompt_is_read_once_per_job(tiny_model_dir):
    model, tokenizer = load(str(tiny_model_dir))
    prefixes = PrefixCache()
    tokens = encode_prompt(tokenizer, LONG)
    first = prefixes.get(model, tokens)
    assert prefixes.get(model, tokens) is first
    assert prefixes.get(model, tokens[:-5]) is not first
    copy_a, copy_b = first.copy_cache(), first.copy_cache()
    assert copy_a is not copy_b and copy_a[0].offset == len(tokens) - 1
    assert first.used == 2 and first.prompt_tps > 0
