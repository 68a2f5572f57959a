"""A plain-Python reference of llama.cpp's byte-level BPE, run on a raw GGUF vocabulary.

Tests compare yilab's converted tokenizers with it: regex pre-splits as llama.cpp applies them,
GPT-2 byte encoding, merges by rank.
"""

from __future__ import annotations

import regex

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
MERGES = ["Ġ t", "h e", "Ġt he", "i n", "Ġ a", "1 2", "Ġ Ġ"]

# --- a reference of llama.cpp's byte-level BPE, on the raw GGUF vocabulary -------------------


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character table."""
    keep = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    extra = iter(range(256, 512))
    return {b: chr(b if b in keep else next(extra)) for b in range(256)}


BYTE_CHARS = bytes_to_unicode()
# llama.cpp's own (adapted) regexes, applied in turn; unmatched text stays a piece
GPT2_CPP = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"
LLAMA3_CPP = (
    r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+"
    r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
REFERENCE_SPLITS = {
    "smollm": [r"\p{N}", GPT2_CPP],
    "gpt2": [GPT2_CPP],
    "llama-bpe": [LLAMA3_CPP],
    "qwen2": [LLAMA3_CPP.replace(r"\p{N}{1,3}", r"\p{N}")],
    "default": [r"[\p{P}\$\+<=>\^~\|]+", GPT2_CPP, r"\p{N}+", "[0-9][0-9][0-9]"],
}


def reference_split(text: str, pre: str) -> list[str]:
    """Split ``text`` by each regex in turn, keeping matches and the gaps between them."""
    pieces = [text]
    for pattern in REFERENCE_SPLITS[pre]:
        out = []
        for piece in pieces:
            pos = 0
            for m in regex.finditer(pattern, piece):
                out += [piece[pos : m.start()], m.group()]
                pos = m.end()
            out.append(piece[pos:])
        pieces = [p for p in out if p]
    return pieces


def reference_bpe(word: str, ranks: dict[tuple[str, str], int]) -> list[str]:
    """Merge the lowest-ranked adjacent pair until none is left (minbpe style)."""
    symbols = list(word)
    while len(symbols) > 1:
        pairs = [
            (ranks.get(p, 1 << 30), i)
            for i, p in enumerate(zip(symbols, symbols[1:], strict=False))
        ]
        rank, i = min(pairs)
        if rank == 1 << 30:
            break
        symbols[i : i + 2] = [symbols[i] + symbols[i + 1]]
    return symbols


def reference_encode(text: str, meta: dict) -> list[int]:
    """llama.cpp's tokenization of ``text`` with control tokens parsed as specials."""
    tokens, types = meta["tokenizer.ggml.tokens"], meta["tokenizer.ggml.token_type"]
    ids = {t: i for i, t in enumerate(tokens)}
    ranks = {tuple(m.split(" ", 1)): r for r, m in enumerate(meta["tokenizer.ggml.merges"])}
    specials = sorted(
        (t for t, k in zip(tokens, types, strict=True) if k == 3), key=len, reverse=True
    )
    out = []
    for part in regex.split(f"({'|'.join(map(regex.escape, specials))})", text):
        if part in specials:
            out.append(ids[part])
            continue
        for word in reference_split(part, meta["tokenizer.ggml.pre"]):
            encoded = "".join(BYTE_CHARS[b] for b in word.encode("utf-8"))
            out += [ids[s] for s in reference_bpe(encoded, ranks)]
    return out


def tiny_vocab_meta(pre: str = "smollm", **extra) -> dict:
    """GGUF tokenizer metadata: 3 control tokens, the 256 byte symbols, a few merges."""
    tokens = SPECIALS + sorted(BYTE_CHARS.values())
    tokens += [m.replace(" ", "") for m in MERGES]
    meta = {
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.pre": pre,
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.token_type": [3] * 3 + [1] * (len(tokens) - 3),
        "tokenizer.ggml.merges": MERGES,
        "tokenizer.ggml.bos_token_id": 1,
        "tokenizer.ggml.eos_token_id": 2,
        "tokenizer.ggml.padding_token_id": 0,
        "tokenizer.ggml.add_bos_token": False,
        "tokenizer.chat_template": "{{ messages[0]['content'] }}",
    }
    return {**meta, **extra}
