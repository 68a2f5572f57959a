"""Rebuild a Hugging Face fast tokenizer from the vocabulary stored in a GGUF file.

Two GGUF tokenizer models are understood:

* ``gpt2``: byte-level BPE (SmolLM, Llama 3, Qwen 2). The text is first split the way
  llama.cpp splits it for the file's ``tokenizer.ggml.pre``, then byte-encoded and merged.
* ``llama``: SentencePiece BPE (Llama 2, Yi, Mistral v0.1). Merges are derived from the
  token scores; unknown characters fall back to ``<0xNN>`` byte tokens.

Control tokens become special added tokens, user-defined ones plain added tokens.

Why not transformers' own GGUF tokenizer conversion (``transformers.integrations.gguf``,
5.24)? Checked against this module's tests, which encode like llama.cpp: it keeps
``" 2024"`` whole where llama.cpp's ``smollm`` pre-tokenizer splits every digit first, gives
other ids for digits and punctuation with the ``default`` pre-tokenizer, does not take a
whole Llama 3 word from the vocabulary before merging, adds no bos where the GGUF asks for
one, and splits SentencePiece text differently (8 of 16 tests fail). On the real SmolLM2
vocabulary it agreed on the texts tried, which is why the differences are easy to miss.
"""

from __future__ import annotations

from typing import Any

from yilab.errors import ConversionError
from yilab.i18n import Message

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6

GPT2_REGEX = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
QWEN2_REGEX = LLAMA3_REGEX.replace(r"\p{N}{1,3}", r"\p{N}")
# The regexes llama.cpp applies in turn for each ``tokenizer.ggml.pre`` (llama-vocab.cpp);
# every piece a regex leaves unmatched is kept as a piece of its own.
PRE_TOKENIZER_REGEXES: dict[str, list[str]] = {
    "smollm": [r"\p{N}", GPT2_REGEX],
    "gpt2": [GPT2_REGEX],
    "llama3": [LLAMA3_REGEX],
    "qwen2": [QWEN2_REGEX],
    "default": [r"[\p{P}\$\+<=>\^~\|]+", GPT2_REGEX, r"\p{N}+", r"[0-9][0-9][0-9]"],
}
PRE_TOKENIZER_ALIASES = {
    **dict.fromkeys(["smollm", "starcoder", "refact", "command-r", "codeshell"], "smollm"),
    **dict.fromkeys(["gpt2", "gpt-2", "phi-2", "mpt", "olmo"], "gpt2"),
    **dict.fromkeys(["llama-bpe", "llama3", "llama-v3", "falcon3", "pixtral"], "llama3"),
    **dict.fromkeys(["qwen2", "deepseek-r1-qwen", "megrez", "stablelm2"], "qwen2"),
    "default": "default",
}


def _meta_tokens(meta: dict[str, Any]) -> list[str]:
    tokens = meta.get("tokenizer.ggml.tokens")
    if not tokens:
        raise ConversionError(Message("convert.no_vocabulary"))
    # llama.cpp names empty tokens the same way, so ids stay aligned
    return [tok or f"[EMPTY_{i}]" for i, tok in enumerate(tokens)]


def _token_types(meta: dict[str, Any], n: int) -> list[int]:
    return list(meta.get("tokenizer.ggml.token_type") or [NORMAL] * n)


def pre_tokenizer_name(meta: dict[str, Any]) -> str:
    """The canonical pre-tokenizer for a gpt2 GGUF: ``"smollm"``, ``"llama3"``, ..."""
    pre = meta.get("tokenizer.ggml.pre", "default")
    if pre not in PRE_TOKENIZER_ALIASES:
        supported = ", ".join(sorted(PRE_TOKENIZER_ALIASES))
        raise ConversionError(Message("convert.pre_tokenizer", pre=pre, supported=supported))
    return PRE_TOKENIZER_ALIASES[pre]


def add_bos_eos(meta: dict[str, Any]) -> tuple[bool, bool]:
    """Whether encoding adds bos / eos, with llama.cpp's defaults when the file is silent."""
    bos_default = meta.get("tokenizer.ggml.model") == "llama" or (
        meta.get("tokenizer.ggml.model") == "gpt2" and pre_tokenizer_name(meta) == "llama3"
    )
    return (
        bool(meta.get("tokenizer.ggml.add_bos_token", bos_default)),
        bool(meta.get("tokenizer.ggml.add_eos_token", False)),
    )


def _byte_level_tokenizer(meta: dict[str, Any], tokens: list[str]) -> Any:
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers

    pre = pre_tokenizer_name(meta)
    merges = []
    for merge in meta.get("tokenizer.ggml.merges", []):
        cut = merge.find(" ", 1)  # as llama.cpp: the first piece may itself be a space
        merges.append((merge[:cut], merge[cut + 1 :]))
    vocab = {tok: i for i, tok in enumerate(tokens)}
    # Llama 3 takes a whole pre-token from the vocabulary before merging (ignore_merges)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, ignore_merges=pre == "llama3"))
    splits = [
        pre_tokenizers.Split(Regex(r), behavior="isolated") for r in PRE_TOKENIZER_REGEXES[pre]
    ]
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.pre_tokenizer = pre_tokenizers.Sequence([*splits, byte_level])
    tok.decoder = decoders.ByteLevel()
    return tok


def spm_merges(tokens: list[str], scores: list[float], types: list[int]) -> list[tuple[str, str]]:
    """BPE merges implied by SentencePiece scores: a piece made of two others is a merge,
    ranked by its score (highest first), ties by the ids of its halves.

    ``spm_merges(["a", "b", "ab"], [0, 0, -1], [1, 1, 1]) == [("a", "b")]``
    """
    ids = {tok: i for i, tok in enumerate(tokens) if types[i] in (NORMAL, USER_DEFINED)}
    ranked = []
    for i, piece in enumerate(tokens):
        if types[i] != NORMAL:
            continue
        for cut in range(1, len(piece)):
            left, right = piece[:cut], piece[cut:]
            if left in ids and right in ids:
                ranked.append((-scores[i], i, ids[left], ids[right], left, right))
    ranked.sort()
    return [(left, right) for *_, left, right in ranked]


def _sentencepiece_tokenizer(meta: dict[str, Any], tokens: list[str]) -> Any:
    from tokenizers import Tokenizer, decoders, models, normalizers

    types = _token_types(meta, len(tokens))
    scores = list(meta.get("tokenizer.ggml.scores") or [0.0] * len(tokens))
    unk_id = meta.get("tokenizer.ggml.unknown_token_id", 0)
    model = models.BPE(
        vocab={tok: i for i, tok in enumerate(tokens)},
        merges=spm_merges(tokens, scores, types),
        unk_token=tokens[unk_id],
        fuse_unk=True,
        byte_fallback=True,
    )
    tok = Tokenizer(model)
    steps = [normalizers.Replace(" ", "▁")]
    decode = [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
    if meta.get("tokenizer.ggml.add_space_prefix", True):
        steps.insert(0, normalizers.Prepend("▁"))
        decode.append(decoders.Strip(" ", 1, 0))
    tok.normalizer = normalizers.Sequence(steps)
    tok.decoder = decoders.Sequence(decode)
    return tok


def _add_special_tokens(tok: Any, meta: dict[str, Any], tokens: list[str]) -> None:
    from tokenizers import AddedToken

    types = _token_types(meta, len(tokens))
    special = [
        AddedToken(t, special=True, normalized=False)
        for t, kind in zip(tokens, types, strict=False)
        if kind in (CONTROL, UNKNOWN)
    ]
    plain = [
        AddedToken(t, special=False, normalized=False)
        for t, kind in zip(tokens, types, strict=False)
        if kind == USER_DEFINED
    ]
    tok.add_special_tokens(special)
    tok.add_tokens(plain)


def _post_processor(meta: dict[str, Any], tokens: list[str]) -> Any:
    """Adds bos/eos when the GGUF asks for it (a fast tokenizer ignores ``add_bos_token``)."""
    from tokenizers import processors

    ends = {}  # "bos"/"eos" -> (token, id), for the ends the GGUF asks to add
    for key, wanted in zip(("bos", "eos"), add_bos_eos(meta), strict=True):
        token_id = meta.get(f"tokenizer.ggml.{key}_token_id")
        if wanted and token_id is not None:
            ends[key] = (tokens[token_id], token_id)
    if not ends:
        is_byte_level = meta.get("tokenizer.ggml.model") == "gpt2"
        return processors.ByteLevel(trim_offsets=False) if is_byte_level else None
    single = [ends[k][0] for k in ("bos",) if k in ends] + ["$A"]
    single += [ends[k][0] for k in ("eos",) if k in ends]
    pair = single + ["$B:1" if p == "$A" else f"{p}:1" for p in single]
    return processors.TemplateProcessing(
        single=single, pair=pair, special_tokens=list(dict.fromkeys(ends.values()))
    )


def check_tokenizer(meta: dict[str, Any]) -> None:
    """Refuse, cheaply, a tokenizer :func:`build_tokenizer` cannot rebuild: no vocabulary,
    another tokenizer model, an unknown pre-tokenizer."""
    _meta_tokens(meta)
    model = meta.get("tokenizer.ggml.model")
    if model not in ("gpt2", "llama"):
        raise ConversionError(Message("convert.tokenizer_model", model=model))
    if model == "gpt2":
        pre_tokenizer_name(meta)


def build_tokenizer(meta: dict[str, Any]) -> Any:
    """A ``tokenizers.Tokenizer`` equivalent to llama.cpp's tokenizer for this GGUF."""
    check_tokenizer(meta)
    tokens = _meta_tokens(meta)
    if meta.get("tokenizer.ggml.model") == "gpt2":
        tok = _byte_level_tokenizer(meta, tokens)
    else:
        tok = _sentencepiece_tokenizer(meta, tokens)
    _add_special_tokens(tok, meta, tokens)
    if (post := _post_processor(meta, tokens)) is not None:
        tok.post_processor = post
    return tok


def tokenizer_config(meta: dict[str, Any]) -> dict[str, Any]:
    """``tokenizer_config.json`` for transformers: token strings, template, bos/eos flags."""
    tokens = _meta_tokens(meta)

    def token(key: str) -> str | None:
        token_id = meta.get(f"tokenizer.ggml.{key}_token_id")
        return tokens[token_id] if token_id is not None and 0 <= token_id < len(tokens) else None

    add_bos, add_eos = add_bos_eos(meta)
    arch = meta.get("general.architecture", "llama")
    config = {
        # GPT2Tokenizer would make transformers swap in its own pre-tokenizer
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": token("bos"),
        "eos_token": token("eos"),
        "pad_token": token("padding"),
        "unk_token": token("unknown"),
        "add_bos_token": add_bos,
        "add_eos_token": add_eos,
        "clean_up_tokenization_spaces": False,
        "model_max_length": meta.get(f"{arch}.context_length"),
        "chat_template": meta.get("tokenizer.chat_template"),
    }
    return {k: v for k, v in config.items() if v is not None}
