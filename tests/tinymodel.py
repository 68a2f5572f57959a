"""Build a tiny random-weight llama model in mlx-lm format, in well under a second.

A real model directory that mlx-lm loads like any other: ``config.json``,
``model.safetensors``, a byte-level BPE ``tokenizer.json`` with ChatML special
tokens, ``tokenizer_config.json`` with a chat template. Its output is noise, but
it is real MLX generation: seeds, stop tokens, cancel and timing all behave.
"""

from __future__ import annotations

import json
from pathlib import Path

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def _byte_level_tokenizer_json() -> dict:
    """A byte-level BPE over the 256 byte symbols, with the special tokens first (ids 0-2)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    byte_symbols = list(pre_tokenizers.ByteLevel.alphabet())
    byte_symbols.sort()
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS)}
    for sym in byte_symbols:
        vocab[sym] = len(vocab)
    merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he")]
    for a, b in merges:
        vocab[a + b] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    from tokenizers import AddedToken

    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    return json.loads(tok.to_str())


def build_tiny_model(
    path: Path,
    *,
    eos_token: str = "<|im_end|>",
    seed: int = 0,
    num_layers: int = 2,
    hidden_size: int = 64,
    intermediate_size: int = 128,
) -> Path:
    """Write a tiny ChatML llama model to ``path`` and return it.

    >>> import tempfile; folder = build_tiny_model(Path(tempfile.mkdtemp()) / "tiny")
    >>> [(folder / name).is_file() for name in ("config.json", "tokenizer.json")]
    [True, True]
    """
    import mlx.core as mx
    from mlx_lm.models.llama import Model, ModelArgs
    from mlx_lm.utils import save_config, save_model

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tok_json = _byte_level_tokenizer_json()
    vocab_size = 320  # >= 3 specials + 256 bytes + 3 merges
    config = {
        "model_type": "llama",
        "hidden_size": hidden_size,
        "num_hidden_layers": num_layers,
        "intermediate_size": intermediate_size,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-5,
        "vocab_size": vocab_size,
        "tie_word_embeddings": True,
        "max_position_embeddings": 2048,
        "rope_theta": 10000.0,
        "bos_token_id": 1,
        "eos_token_id": SPECIAL_TOKENS.index(eos_token),
    }
    mx.random.seed(seed)
    model = Model(ModelArgs.from_dict(config))
    mx.eval(model.parameters())
    save_model(path, model)
    save_config(dict(config), path / "config.json")
    (path / "tokenizer.json").write_text(json.dumps(tok_json))
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<|im_start|>",
        "eos_token": eos_token,
        "pad_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>",
        "add_bos_token": False,
        "chat_template": CHATML_TEMPLATE,
        "model_max_length": 2048,
    }
    (path / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2))
    return path
