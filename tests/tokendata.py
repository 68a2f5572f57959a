"""Token logs for outputs written by hand: one token per word, ids shared across logs (so
runs that write the same words share token ids, as MLX runs of one model do)."""

from __future__ import annotations

import math
import re

from yilab.experiment.token_log import TokenLog, TokenStep

EOS, IM_END = 2, 3  # the stop token, and a turn end that is not in the stop set
XSS_PIECE = "<img src=x onerror=alert(1)>"
XSS_ID = 4
SPECIAL = {EOS: "<|endoftext|>", IM_END: "<|im_end|>", XSS_ID: XSS_PIECE}


def words(text: str) -> list[str]:
    """``"a b\\nc"`` → ``["a", " b", "\\nc"]``: the tokens of a hand-written output."""
    return re.findall(r"\s*\S+|\s+$", text)


def token_log(text: str, *, stop: bool = True, vocab: dict[str, int] | None = None) -> TokenLog:
    """A log whose steps write ``text`` word by word (then an eos when ``stop``). Each
    step's alternatives are the drawn word (60%) and the hostile piece (25%); the
    template's turn end is 97% likely wherever the text says ``<|im_end|>``."""
    vocab = {} if vocab is None else vocab
    steps = []
    for word in words(text):
        token = vocab.setdefault(word, 10 + len(vocab))
        steps.append(_step(token, word, 0.97 if "<|im_end|>" in word else 0.01))
    if stop:
        steps.append(_step(EOS, "", 0.01))
    pieces = {**SPECIAL, **{token: word for word, token in vocab.items()}}
    return TokenLog(tuple(steps), 2, (EOS, IM_END), pieces)


def _step(token: int, text: str, im_end: float) -> TokenStep:
    if im_end > 0.5:  # the model wanted to end its turn here; a sampler drew the word
        p, top = 0.02, ((IM_END, math.log(im_end)), (token, math.log(0.02)))
    else:
        p, top = 0.6, ((token, math.log(0.6)), (XSS_ID, math.log(0.25)))
    return TokenStep(
        token,
        text,
        math.log(p),
        math.log(p),
        entropy=1.2,
        top=top,
        turn_end=(math.log(0.01), math.log(im_end)),
    )
