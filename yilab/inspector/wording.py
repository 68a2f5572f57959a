"""What the CLI and the Tokenizer tab both show of an inspection: the verdict in plain
words, the stop set and the fix's runtime equivalents as lines, and the token view of a
text or a chat message (with the double-bos warning either way).

>>> VERDICT_TITLES["eos_mismatch"]
'EOS mismatch: generation will not stop at the end of a turn'
"""

from __future__ import annotations

from pathlib import Path

from yilab.errors import ModelLoadError
from yilab.i18n import ENGLISH, Message, Translator
from yilab.inspector.diagnose import InspectionReport, inspect_model, label
from yilab.inspector.token_view import TokenView, tokenize_chat, tokenize_text

VERDICTS = ("ok", "eos_mismatch", "tokenizer_eos_mismatch", "no_chat_template", "invalid_config")
VERDICT_TITLES = {verdict: ENGLISH(f"verdict.{verdict}") for verdict in VERDICTS}


def verdict_title(verdict: str, tr: Translator = ENGLISH) -> str:
    """A verdict's title in plain words (an unknown verdict as it is)."""
    return tr(f"verdict.{verdict}") if verdict in VERDICTS else verdict


def double_bos_warning(ids: list[int], bos_id: int | None, bos_token: str | None) -> str | None:
    """A warning when a token list starts with two bos tokens.

    >>> double_bos_warning([1, 1, 42], 1, "<s>")[:27]
    'double bos: the text starts'
    >>> double_bos_warning([1, 42], 1, "<s>") is None
    True
    """
    if bos_id is None or ids[:2] != [bos_id, bos_id]:
        return None
    return Message("warning.double_bos_text", token=bos_token or f"id {bos_id}")


def token_view(path: str | Path, text: str, *, chat: bool = False) -> TokenView:
    """Tokenize ``text`` as a plain text, or as the user message of a chat (rendered with
    the model's template); either way warn on a double bos."""
    if chat:
        return tokenize_chat(path, [{"role": "user", "content": text}])
    view = tokenize_text(path, text)
    if text and not view.ids:  # transformers "loads" a folder with no vocabulary at all
        raise ModelLoadError(Message("load.no_usable_tokenizer", path=path))
    if not spells(view, text):
        view.warnings.append(Message("warning.incomplete_tokenizer"))
    bos = inspect_model(path).bos
    warning = double_bos_warning(view.ids, bos.id, bos.token)
    if warning is not None:
        view.warnings.append(warning)
    return view


def spells(view: TokenView, text: str) -> bool:
    """Whether the tokens decode to ``text``, whitespace aside (SentencePiece pieces
    decoded one by one lose their leading space)."""
    return "".join("".join(view.texts).split()) == "".join(text.split())


def stop_set_line(report: InspectionReport, tr: Translator = ENGLISH) -> str:
    """The stop set with where each token comes from.

    e.g. ``<|endoftext|> (id 2) ← tokenizer_config.json eos_token, config.json eos_token_id``
    """
    if not report.stop_tokens:
        return tr("wording.no_stops")
    return "; ".join(
        f"{label(s.token, s.id)} ← {', '.join(s.sources or [s.source])}" for s in report.stop_tokens
    )


def turn_end_lines(report: InspectionReport, tr: Translator = ENGLISH) -> list[str]:
    """How turns end, one line each: every generated turn end (whether mlx-lm stops there),
    the history's, the tokens written mid-answer. Empty when the template marks none.

    e.g. ``answers end with <|return|> (id 200002): mlx-lm stops there``
    """
    t = report.chat_template
    lines = []
    for end in t.turn_ends:
        status = tr("wording.stops_there" if end.stops else "wording.runs_on")
        if end.mid_answer:
            status = tr("wording.mid_answer")
        what = "wording.answers_end" if end.kind == "answer" else "wording.tool_calls_end"
        lines.append(tr(what, token=label(end.token, end.id), status=status))
    if t.history_turn_end and t.turn_ends and t.history_turn_end != t.turn_ends[0].token:
        token = label(t.history_turn_end, t.history_turn_end_id)
        lines.append(tr("wording.history_end", token=token))
    if t.inner_tokens:
        lines.append(tr("wording.inner", tokens=" ".join(t.inner_tokens)))
    return lines


def runtime_lines(report: InspectionReport) -> list[str]:
    """The fix's runtime equivalents, one per tool (empty when there is no fix)."""
    plan, lines = report.fix, []
    if plan.extra_eos_ids:
        ids = " ".join(f"--extra-eos-id {i}" for i in plan.extra_eos_ids)
        lines.append(f"yilab:   python -m yilab compare ... {ids}")
    if plan.mlx_lm_cli:
        lines.append(f"mlx-lm:  {plan.mlx_lm_cli}")
    if plan.mlx_lm_python:
        lines.append(f"python:  {plan.mlx_lm_python}")
    if plan.ollama_modelfile:
        lines.append(f"Ollama:  {plan.ollama_modelfile}  (in the Modelfile)")
    return lines
