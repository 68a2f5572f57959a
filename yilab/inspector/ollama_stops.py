"""Ollama as it ran a model, beside mlx-lm as yilab will run its conversion.

``ollama run`` stops at the GGUF's eos and at every string in its params layer's ``stop``
list; mlx-lm stops only at token ids (the tokenizer's eos, generation_config's ids).
Importing an Ollama model leaves what its manifest said in the converted folder's
``ollama.json`` (written by ``yilab.models.ollama_import``); this module compares it
with the inspector's report. An Ollama stop that is one token missing from mlx-lm's stop
set is where Ollama ended the reply and mlx-lm runs on: the Yi story, where ``stop`` held
``<|im_end|>`` and the GGUF's eos was ``<|endoftext|>``. The fix adds those ids to
generation_config.json's ``eos_token_id`` (``python -m yilab fix``) or at run time
(``--extra-eos-id``).

Pure but for reading ``ollama.json`` (:func:`read_ollama_records`); verdicts (a contract):
``ok``, ``missing_stops``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yilab.files import OLLAMA_RECORD
from yilab.i18n import ENGLISH, Message
from yilab.inspector.diagnose import InspectionReport, label
from yilab.inspector.fix_plan import FileChange, FixPlan
from yilab.inspector.model_files import ModelFiles, Vocab, build_vocab, is_token_id
from yilab.inspector.stop_tokens import StopToken, TokenInfo

VERDICT_TITLES = {v: ENGLISH(f"ollama_verdict.{v}") for v in ("ok", "missing_stops")}


@dataclass
class OllamaStop:
    """One string of Ollama's ``stop`` list: the one token it is (``id`` None: a text that
    spans tokens, which mlx-lm cannot stop at) and whether mlx-lm's stop set holds it."""

    text: str
    id: int | None
    mlx_stops: bool


@dataclass
class OllamaStops:
    """Ollama's stops beside the GGUF's eos and the converted model's stop set;
    ``to_dict()`` is ``inspect --json``'s ``ollama`` key."""

    name: str  # the Ollama model, e.g. "yi:6b-chat"
    verdict: str  # "ok" | "missing_stops"
    summary: str
    stops: list[OllamaStop]
    gguf_eos: TokenInfo  # as the GGUF said, before any fix
    mlx_stop_tokens: list[StopToken]  # the converted model's stop set, now
    missing_ids: list[int]  # Ollama stopped there, mlx-lm will not
    template: str | None  # the template layer (a Go template)
    system: str | None
    params: dict[str, Any]
    fix: FixPlan  # the inspector's fix plus Ollama's missing stops
    also_imported_as: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return dataclasses.asdict(self)


def read_ollama_records(path: Path) -> dict[str, dict]:
    """The Ollama names recorded in a converted folder's ``ollama.json``, each with what its
    manifest said; ``{}`` for a folder that did not come from Ollama (or an unreadable file)."""
    try:
        document = json.loads((Path(path) / OLLAMA_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    models = document.get("models") if isinstance(document, dict) else None
    if not isinstance(models, dict):
        return {}
    return {k: v for k, v in models.items() if isinstance(k, str) and isinstance(v, dict)}


def compare_ollama_stops(
    report: InspectionReport, files: ModelFiles, records: dict[str, dict], name: str | None
) -> OllamaStops | None:
    """Compare the record of the Ollama model ``name`` (None: the folder's only one, or the
    first by name) with the report of its converted folder; None without a record."""
    if name is None and records:
        name = sorted(records)[0]
    record = records.get(name) if name is not None else None
    if record is None:
        return None
    vocab = build_vocab(files)
    params = record.get("params") if isinstance(record.get("params"), dict) else {}
    stops = [_ollama_stop(text, vocab, report) for text in _stop_strings(params)]
    missing = list(dict.fromkeys(s.id for s in stops if s.id is not None and not s.mlx_stops))
    eos = _gguf_eos(record)
    return OllamaStops(
        name=name,
        verdict="missing_stops" if missing else "ok",
        summary=summarize(name, stops, eos, report),
        stops=stops,
        gguf_eos=eos,
        mlx_stop_tokens=report.stop_tokens,
        missing_ids=missing,
        template=_text(record.get("template")),
        system=_text(record.get("system")),
        params=params,
        fix=ollama_fix_plan(report.fix, files, stops),
        also_imported_as=sorted(n for n in records if n != name),
    )


def ollama_fix_plan(plan: FixPlan, files: ModelFiles, stops: list[OllamaStop]) -> FixPlan:
    """``plan`` (the inspector's fix), plus generation_config.json's ``eos_token_id``
    gaining every Ollama stop mlx-lm lacks, so that mlx-lm stops wherever Ollama did;
    ``plan`` itself when it lacks none."""
    missing = [s for s in stops if s.id is not None and not s.mlx_stops]
    ids = list(dict.fromkeys(s.id for s in missing))
    if not ids:
        return plan
    merged = copy.deepcopy(plan)
    merged.needed = True
    reason = f"stop where Ollama's params stop: {', '.join(label(s.text, s.id) for s in missing)}"
    change = next((c for c in merged.changes if c.file == "generation_config.json"), None)
    if change is not None:
        change.new = list(dict.fromkeys([*change.new, *ids]))
        change.reason += f"; {reason}"
    else:
        old = files.data("generation_config.json").get("eos_token_id")
        new = list(dict.fromkeys([*_ids_in_force(files), *ids]))
        merged.changes.append(
            FileChange("generation_config.json", ["eos_token_id"], old, new, reason)
        )
    merged.extra_eos_ids = list(dict.fromkeys([*merged.extra_eos_ids, *ids]))
    merged.extra_eos_tokens = list(
        dict.fromkeys([*merged.extra_eos_tokens, *(s.text for s in missing)])
    )
    tokens = " ".join(shlex.quote(t) for t in merged.extra_eos_tokens)
    merged.mlx_lm_cli = (
        f"mlx_lm.generate --model {shlex.quote(str(files.path))} --extra-eos-token {tokens}"
    )
    merged.ollama_modelfile = None  # the model came from Ollama: its Modelfile has them
    return merged


def summarize(name: str, stops: list[OllamaStop], eos: TokenInfo, report: InspectionReport) -> str:
    """Ollama's stops against mlx-lm's, in plain words (a :class:`Message`: English, and
    the Tokenizer tab says it in the reader's language)."""
    in_force = ", ".join(label(s.token, s.id) for s in report.stop_tokens)
    in_force = in_force or Message("summary.nothing")
    known = eos.token or eos.id is not None
    gguf_eos = label(eos.token, eos.id) if known else Message("tok.ollama_unknown")
    missing = [s for s in stops if s.id is not None and not s.mlx_stops]
    texts = [s.text for s in stops if s.id is None]
    if missing:
        said = Message(
            "ollama.missing",
            name=name,
            listed=" and ".join(label(s.text, s.id) for s in missing),
            eos=gguf_eos,
            stops=in_force,
            printed=" and ".join(s.text for s in missing),
        )
    elif any(s.id is not None for s in stops):
        listed = ", ".join(label(s.text, s.id) for s in stops if s.id is not None)
        said = Message("ollama.all_stop", name=name, listed=listed)
    else:
        said = Message("ollama.no_stop", name=name, eos=gguf_eos, stops=in_force)
    if texts:
        quoted = ", ".join(json.dumps(t, ensure_ascii=False) for t in texts)
        said = Message("ollama.texts", said=said, texts=quoted)
    return said


def fix_lines(stops: OllamaStops) -> list[str]:
    """How to make mlx-lm stop where Ollama did: with the files, and at run time.

    The file fix names the Ollama model, which ``python -m yilab fix`` resolves."""
    if not stops.missing_ids:
        return []
    ids = " ".join(f"--extra-eos-id {i}" for i in stops.missing_ids)
    lines = []
    if stops.fix.changes:
        lines.append(f"python -m yilab fix {stops.name}   (--dry-run shows the diff)")
    return [*lines, f"python -m yilab compare ... --model {stops.name} {ids}   (files untouched)"]


def _ollama_stop(text: str, vocab: Vocab, report: InspectionReport) -> OllamaStop:
    token_id = vocab.id_of(text)
    return OllamaStop(text, token_id, token_id is not None and token_id in report.stop_ids)


def _stop_strings(params: dict[str, Any]) -> list[str]:
    stop = params.get("stop")
    stop = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
    return list(dict.fromkeys(s for s in stop if isinstance(s, str) and s))


def _ids_in_force(files: ModelFiles) -> list[int]:
    """The config ids mlx-lm stops at now: generation_config.json's when truthy, else
    config.json's (the tokenizer's eos is added either way)."""
    value = files.data("generation_config.json").get("eos_token_id")
    if not value:
        value = files.data("config.json").get("eos_token_id")
    items = value if isinstance(value, list) else [value]
    return [i for i in items if is_token_id(i)]


def _gguf_eos(record: dict) -> TokenInfo:
    gguf = record.get("gguf") if isinstance(record.get("gguf"), dict) else {}
    token, token_id = gguf.get("eos_token"), gguf.get("eos_id")
    return TokenInfo(
        token if isinstance(token, str) else None,
        token_id if is_token_id(token_id) else None,
        "GGUF tokenizer.ggml.eos_token_id",
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
