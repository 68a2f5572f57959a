"""GGUF vocabularies → tokenizer.json, checked against a plain-Python reference of llama.cpp's
algorithm (regex splits, GPT-2 byte encoding, merges by rank) and against sentencepiece."""

from __future__ import annotations

import pytest

from tests.llamacpp_reference import (
    BYTE_CHARS,
    REFERENCE_SPLITS,
    reference_encode,
    reference_split,
    tiny_vocab_meta,
)
from yilab.errors import ConversionError
from yilab.models.gguf.tokenizer import build_tokenizer, spm_merges, tokenizer_config


def test_unsupported_tokenizers_are_named():
    with pytest.raises(ConversionError, match="pre-tokenizer 'deepseek-llm'"):
        build_tokenizer(tiny_vocab_meta(pre="deepseek-llm"))
    with pytest.raises(ConversionError, match="tokenizer model 'bert'"):
        build_tokenizer(tiny_vocab_meta(**{"tokenizer.ggml.model": "bert"}))


TEXTS = [
    "Hello world! It's 2024, isn't it?",
    "12345 and 3.14159 or 1,000,000",
    "写一个儿童童话故事",
    "emoji 🤗👍🏽 ok",
    "tabs\tand  spaces   \n\n  newlines\r\n",
    "def f(x):\n    return x**2  # ok",
    "<|im_start|>user\nthe theme<|im_end|>\n",
    "WE'LL SEE, they'RE here",
]


@pytest.mark.parametrize("pre", sorted(REFERENCE_SPLITS))
def test_pre_tokenizers_split_like_llama_cpp(pre):
    tok = build_tokenizer(tiny_vocab_meta(pre=pre))
    for text in (t for t in TEXTS if "<|" not in t):  # added tokens are split before this
        got = [piece for piece, _ in tok.pre_tokenizer.pre_tokenize_str(text)]
        expected = ["".join(BYTE_CHARS[b] for b in w.encode()) for w in reference_split(text, pre)]
        assert got == expected, text


@pytest.mark.parametrize("pre", sorted(REFERENCE_SPLITS))
def test_tiny_vocab_encodes_like_the_reference(pre):
    meta = tiny_vocab_meta(pre=pre)
    tok = build_tokenizer(meta)
    for text in TEXTS:
        ids = tok.encode(text).ids
        assert ids == reference_encode(text, meta), text
        assert tok.decode(ids, skip_special_tokens=False) == text


def test_llama3_takes_whole_words_from_the_vocabulary():
    """llama.cpp's ignore_merges: a pre-token found in the vocabulary is one token."""
    meta = tiny_vocab_meta(pre="llama-bpe")
    meta["tokenizer.ggml.tokens"] = meta["tokenizer.ggml.tokens"] + ["word"]
    meta["tokenizer.ggml.token_type"] = meta["tokenizer.ggml.token_type"] + [1]
    assert build_tokenizer(meta).encode("word").ids == [len(meta["tokenizer.ggml.tokens"]) - 1]
    meta["tokenizer.ggml.pre"] = "gpt2"
    assert len(build_tokenizer(meta).encode("word").ids) == 4


def test_bos_is_added_when_the_gguf_asks():
    meta = tiny_vocab_meta(**{"tokenizer.ggml.add_bos_token": True})
    assert build_tokenizer(meta).encode(" the").ids == [1, len(meta["tokenizer.ggml.tokens"]) - 5]
    assert tokenizer_config(meta)["add_bos_token"] is True
    assert build_tokenizer(tiny_vocab_meta(pre="llama-bpe")).encode("a").ids[0] != 1
    del meta["tokenizer.ggml.add_bos_token"]
    meta["tokenizer.ggml.pre"] = "llama-bpe"  # llama.cpp's default for Llama 3: add bos
    assert build_tokenizer(meta).encode("a").ids[0] == 1


def test_user_defined_tokens_are_added_but_not_special():
    meta = tiny_vocab_meta()
    meta["tokenizer.ggml.tokens"] = meta["tokenizer.ggml.tokens"] + ["<think>"]
    meta["tokenizer.ggml.token_type"] = meta["tokenizer.ggml.token_type"] + [4]
    tok = build_tokenizer(meta)
    ids = tok.encode("a<think>b").ids
    assert ids[1] == len(meta["tokenizer.ggml.tokens"]) - 1
    assert tok.decode(ids, skip_special_tokens=True) == "a<think>b"
    assert tok.decode([1, *ids], skip_special_tokens=True) == "a<think>b"


# --- SentencePiece ("llama") vocabularies, checked against sentencepiece itself ---------------


@pytest.fixture(scope="module")
def spm_model(tmp_path_factory):
    spm = pytest.importorskip("sentencepiece")
    folder = tmp_path_factory.mktemp("spm")
    corpus = folder / "corpus.txt"
    lines = [
        f"The {w} of the {v} is {n} times better than {w}s."
        for n in range(40)
        for w, v in (("capital", "country"), ("story", "child"), ("river", "valley"))
    ]
    corpus.write_text("\n".join(lines + ["hello world", "Hello there, general Kenobi!"]))
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(folder / "m"),
        vocab_size=300,
        model_type="bpe",
        byte_fallback=True,
        remove_extra_whitespaces=False,  # as Llama's and Yi's models
        normalization_rule_name="identity",
        character_coverage=1.0,
        user_defined_symbols=["<tool>"],
        minloglevel=2,
    )
    return spm.SentencePieceProcessor(model_file=str(folder / "m.model"))


def spm_meta(sp) -> dict:
    """GGUF metadata the way llama.cpp's converter writes a SentencePiece vocabulary."""

    def kind(i):
        return (
            2
            if sp.is_unknown(i)
            else 3
            if sp.is_control(i)
            else 6
            if sp.is_byte(i)
            else 4
            if sp.id_to_piece(i) == "<tool>"
            else 1
        )

    n = sp.get_piece_size()
    return {
        "tokenizer.ggml.model": "llama",
        "tokenizer.ggml.tokens": [sp.id_to_piece(i) for i in range(n)],
        "tokenizer.ggml.scores": [sp.get_score(i) for i in range(n)],
        "tokenizer.ggml.token_type": [kind(i) for i in range(n)],
        "tokenizer.ggml.bos_token_id": sp.bos_id(),
        "tokenizer.ggml.eos_token_id": sp.eos_id(),
        "tokenizer.ggml.unknown_token_id": sp.unk_id(),
    }


def test_sentencepiece_vocabulary_encodes_like_sentencepiece(spm_model):
    meta = spm_meta(spm_model)
    tok = build_tokenizer(meta)
    for text in [
        "The capital of the country",
        "hello world",
        "Hello there, général 🤗!",
        "  two  spaces",
        "line\nbreak",
        "写 12 times x",
    ]:
        expected = [spm_model.bos_id(), *spm_model.encode(text)]
        assert tok.encode(text).ids == expected, text
        assert tok.decode(expected, skip_special_tokens=True) == text
    # as llama.cpp (and transformers' legacy Llama tokenizer): text after an added token
    # gets its own space prefix, which sentencepiece itself, knowing no added tokens, would not
    tool = spm_model.piece_to_id("<tool>")
    assert tok.encode("<tool>x").ids == [spm_model.bos_id(), tool, *spm_model.encode("x")]


def test_spm_merges_rank_by_score():
    assert spm_merges(["a", "b", "ab"], [0.0, 0.0, -1.0], [1, 1, 1]) == [("a", "b")]
    tokens, scores = ["a", "b", "c", "ab", "bc"], [0, 0, 0, -2.0, -1.0]
    assert spm_merges(tokens, scores, [1] * 5) == [("b", "c"), ("a", "b")]
