"""Pure: a sweep spec → the list of run settings, and parsing of the values people type.

>>> cells = expand_sweep(SweepSpec(prompt="Hi", temperatures=(0.2, 0.7), seeds=(1, 2)))
>>> [(c.temperature, c.seed) for c in cells]
[(0.2, 1), (0.2, 2), (0.7, 1), (0.7, 2)]

With inputs, each input row is a section of the grid (the outermost axis):

>>> spec = SweepSpec(prompt="Capital of {{c}}?", seeds=(1, 2), inputs=({"c": "France"}, {"c": "Peru"}))
>>> [(c.input_index, c.seed) for c in expand_sweep(spec)]
[(0, 1), (0, 2), (1, 1), (1, 2)]
>>> spec.messages(1)[-1]["content"]
'Capital of Peru?'
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import product

from yilab.errors import BadInputError
from yilab.experiment.checks import Check
from yilab.experiment.token_log import DEFAULT_TOP_K, MAX_TOP_K
from yilab.experiment.variables import EXPECTED, Inputs, check_inputs, fill
from yilab.i18n import Message

MAX_CELLS = 64
ENGINES = ("single", "batch")
DEFAULT_ENGINE = "batch"  # a row's tokens do not depend on its batch (row-invariant numerics)
ROW_INVARIANT_WT = "row-invariant-wt"  # tokens do not depend on the batch; weights transposed
ROW_INVARIANT = "row-invariant"  # the same, weights as loaded: runs logged before 2026-12-02
PLAIN = "plain"  # mlx-lm's numerics as they are (all three: yilab/generation/invariance.py)
NUMERICS = (ROW_INVARIANT_WT, ROW_INVARIANT, PLAIN)
ROW_INVARIANT_NUMERICS = (ROW_INVARIANT_WT, ROW_INVARIANT)
DEFAULT_NUMERICS = ROW_INVARIANT_WT
OLD_NUMERICS = PLAIN  # what sweeps logged before numerics were recorded ran with
DEFAULT_TEMPERATURES = (0.7,)
DEFAULT_MAX_TOKENS = 256
MAX_TOKENS_CEILING = 32_768  # a model's own context length bounds it further at run time
MAX_TEMPERATURE = 10.0
MAX_SEED = 2**32 - 1
MAX_PROMPT_CHARS = 1_000_000
_RANDOM_SEEDS = re.compile(r"^\s*(?:random\s*:\s*(\d+)|(\d+)\s+random(?:\s+seeds?)?)\s*$", re.I)


@dataclass(frozen=True)
class SweepSpec:
    """One prompt and the lists of settings to try. ``raw`` sends ``prompt`` as-is;
    otherwise it is the user message of a chat (with ``system`` if given). ``inputs``:
    rows of values for the prompt's ``{{variables}}``, one grid section each; ``checks``:
    how each output is judged (re-evaluated from the log, never needed to generate)."""

    prompt: str
    system: str | None = None
    raw: bool = False
    models: tuple[str, ...] = ("",)  # "" = the default model
    temperatures: tuple[float, ...] = DEFAULT_TEMPERATURES
    seeds: tuple[int, ...] = (0,)
    top_ps: tuple[float, ...] = (1.0,)
    max_tokens: tuple[int, ...] = (DEFAULT_MAX_TOKENS,)
    top_k: int = 0
    min_p: float = 0.0
    repetition_penalty: float | None = None
    extra_eos_ids: tuple[int, ...] = ()
    engine: str = DEFAULT_ENGINE
    numerics: str = DEFAULT_NUMERICS
    top_logprobs: int | None = DEFAULT_TOP_K  # alternatives recorded per token; None: no record
    branch_of: str | None = None  # a branch: the run it continues, from these output tokens
    prefix_ids: tuple[int, ...] = ()
    inputs: Inputs = ()
    checks: tuple[Check, ...] = ()

    @property
    def branch_at(self) -> int | None:
        """The position of the token a branch chose (None for a sweep that is not a branch)."""
        return len(self.prefix_ids) - 1 if self.branch_of else None

    def variables(self, input_index: int | None = None) -> dict[str, str] | None:
        """The values of one input row (None for a spec without inputs)."""
        return None if input_index is None else dict(self.inputs[input_index])

    def prompt_text(self, input_index: int | None = None) -> str:
        """The prompt with one input row's values filled in."""
        values = self.variables(input_index)
        return self.prompt if values is None else fill(self.prompt, values)

    def messages(self, input_index: int | None = None) -> list[dict[str, str]] | None:
        """The chat messages this spec sends (for one input row), or None in raw mode."""
        if self.raw:
            return None
        values = self.variables(input_index)
        system = self.system if values is None or not self.system else fill(self.system, values)
        msgs = [{"role": "system", "content": system}] if system else []
        return msgs + [{"role": "user", "content": self.prompt_text(input_index)}]

    def to_dict(self) -> dict:
        """JSON-ready form, stored as the experiment's ``sweep_json``."""
        return {
            "prompt": self.prompt,
            "system": self.system,
            "raw": self.raw,
            "models": list(self.models),
            "temperatures": list(self.temperatures),
            "seeds": list(self.seeds),
            "top_ps": list(self.top_ps),
            "max_tokens": list(self.max_tokens),
            "top_k": self.top_k,
            "min_p": self.min_p,
            "repetition_penalty": self.repetition_penalty,
            "extra_eos_ids": list(self.extra_eos_ids),
            "engine": self.engine,
            "numerics": self.numerics,
            "top_logprobs": self.top_logprobs,
            **(
                {"branch_of": self.branch_of, "prefix_ids": list(self.prefix_ids)}
                if self.branch_of
                else {}
            ),
            **({"inputs": [dict(row) for row in self.inputs]} if self.inputs else {}),
            **({"checks": [c.to_dict() for c in self.checks]} if self.checks else {}),
        }

    @classmethod
    def from_dict(cls, data: dict) -> SweepSpec:
        """Inverse of :meth:`to_dict` (validated by :func:`expand_sweep` as usual)."""
        return cls(
            prompt=data["prompt"],
            system=data.get("system"),
            raw=bool(data.get("raw")),
            models=tuple(data.get("models") or ("",)),
            temperatures=tuple(data.get("temperatures") or DEFAULT_TEMPERATURES),
            seeds=tuple(data.get("seeds") or (0,)),
            top_ps=tuple(data.get("top_ps") or (1.0,)),
            max_tokens=tuple(data.get("max_tokens") or (DEFAULT_MAX_TOKENS,)),
            top_k=int(data.get("top_k") or 0),
            min_p=float(data.get("min_p") or 0.0),
            repetition_penalty=data.get("repetition_penalty"),
            extra_eos_ids=tuple(data.get("extra_eos_ids") or ()),
            engine=data.get("engine") or "single",  # the default before batch became it
            numerics=data.get("numerics") or OLD_NUMERICS,
            top_logprobs=data.get("top_logprobs", DEFAULT_TOP_K),
            branch_of=data.get("branch_of"),
            prefix_ids=tuple(data.get("prefix_ids") or ()),
            inputs=tuple(dict(row) for row in data.get("inputs") or ()),
            checks=tuple(Check.from_dict(c) for c in data.get("checks") or ()),
        )


@dataclass(frozen=True)
class CellSettings:
    """The settings of one run in a sweep. ``index`` is its position in the grid."""

    index: int
    model: str
    temperature: float
    seed: int
    top_p: float
    max_tokens: int
    top_k: int = 0
    min_p: float = 0.0
    repetition_penalty: float | None = None
    extra_eos_ids: tuple[int, ...] = field(default=())
    input_index: int | None = None  # the input row (grid section), None without inputs

    @property
    def greedy(self) -> bool:
        """At temperature 0 sampling is argmax: the seed has no effect."""
        return self.temperature == 0


def expand_sweep(spec: SweepSpec) -> list[CellSettings]:
    """Validate ``spec`` and return its cartesian grid in a stable order: input row
    (sections), model, top_p, max_tokens, temperature (rows), seed (columns, fastest)."""
    validate_spec(spec)
    sections = range(len(spec.inputs)) if spec.inputs else (None,)
    grid = product(
        sections, spec.models, spec.top_ps, spec.max_tokens, spec.temperatures, spec.seeds
    )
    return [
        CellSettings(
            index=i,
            model=model,
            temperature=float(temp),
            seed=int(seed),
            top_p=float(top_p),
            max_tokens=int(max_tokens),
            top_k=spec.top_k,
            min_p=spec.min_p,
            repetition_penalty=spec.repetition_penalty,
            extra_eos_ids=tuple(spec.extra_eos_ids),
            input_index=section,
        )
        for i, (section, model, top_p, max_tokens, temp, seed) in enumerate(grid)
    ]


def grid_size(spec: SweepSpec) -> int:
    """How many runs the spec expands to."""
    lists = (spec.models, spec.top_ps, spec.max_tokens, spec.temperatures, spec.seeds)
    return math.prod(len(values) for values in lists) * max(1, len(spec.inputs))


def validate_spec(spec: SweepSpec) -> None:
    """Raise :class:`BadInputError` with a plain message for anything unusable."""
    _check_prompt(spec.prompt)
    if spec.system is not None:
        _check_text(Message("text.system_prompt"), spec.system)
    if spec.engine not in ENGINES:
        raise BadInputError(
            Message("errors.engine", choices=", ".join(ENGINES), value=repr(spec.engine))
        )
    if spec.numerics not in NUMERICS:
        raise BadInputError(
            Message("errors.numerics", choices=", ".join(NUMERICS), value=repr(spec.numerics))
        )
    for name, values in (
        ("temperatures", spec.temperatures),
        ("seeds", spec.seeds),
        ("top_ps", spec.top_ps),
        ("max_tokens", spec.max_tokens),
        ("models", spec.models),
    ):
        if not values:
            raise BadInputError(Message(f"errors.no_{name}"))
    check_inputs(spec.inputs, spec.prompt, spec.system)
    cells = grid_size(spec)
    if cells > MAX_CELLS:
        per_input = cells // len(spec.inputs) if spec.inputs else 0
        across = (
            Message("errors.cells_across", inputs=len(spec.inputs), cells=per_input)
            if spec.inputs
            else ""
        )
        raise BadInputError(
            Message("errors.too_many_cells", cells=cells, across=across, limit=MAX_CELLS)
        )
    _check_checks(spec)
    for t in spec.temperatures:
        _check_range("temperature", t, 0.0, MAX_TEMPERATURE)
    for p in spec.top_ps:
        _check_range("top_p", p, 0.0, 1.0, low_open=True)
    for s in spec.seeds:
        _check_int("seed", s, 0, MAX_SEED)
    for n in spec.max_tokens:
        _check_int("max_tokens", n, 1, MAX_TOKENS_CEILING)
    _check_int("top_k", spec.top_k, 0, 1_000_000)
    _check_range("min_p", spec.min_p, 0.0, 1.0)
    if spec.repetition_penalty is not None:
        _check_range("repetition_penalty", spec.repetition_penalty, 0.0, 10.0, low_open=True)
    if spec.top_logprobs is not None:
        _check_int("alternatives per token (top_logprobs)", spec.top_logprobs, 0, MAX_TOP_K)
    if spec.branch_of and (cells != 1 or not spec.prefix_ids):
        raise BadInputError(Message("branch.one_run"))


def _check_checks(spec: SweepSpec) -> None:
    names = [c.name for c in spec.checks]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise BadInputError(Message("errors.checks_twice", check=repr(twice[0])))
    if any(c.kind == "equals" for c in spec.checks) and not any(
        EXPECTED in row for row in spec.inputs
    ):
        raise BadInputError(Message("errors.equals_needs_expected", column=repr(EXPECTED)))


def _check_prompt(prompt: str) -> None:
    if not isinstance(prompt, str) or not prompt.strip():
        raise BadInputError(
            "The prompt is empty: type something for the model to answer.",
            key="errors.empty_prompt",
        )
    _check_text(Message("text.prompt"), prompt)


def _check_text(name: str, text: str) -> None:
    """Refuse text that is too long or not valid Unicode (undecodable bytes from a shell)."""
    if not isinstance(text, str):
        raise BadInputError(Message("text.not_text", what=name, type=type(text).__name__))
    if len(text) > MAX_PROMPT_CHARS:
        raise BadInputError(
            Message("text.too_long", what=name, n=len(text), limit=MAX_PROMPT_CHARS)
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise BadInputError(Message("text.not_utf8", what=name, at=err.start)) from None


def _check_range(name: str, value: float, low: float, high: float, *, low_open=False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadInputError(Message("errors.must_be_number", name=name, value=repr(value)))
    if value < low or value > high or (low_open and value == low):
        bracket = "(" if low_open else "["
        span = f"{bracket}{low:g}, {high:g}]"
        raise BadInputError(Message("errors.out_of_range", name=name, span=span, value=repr(value)))


def _check_int(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInputError(Message("errors.must_be_whole", name=name, value=repr(value)))
    if not low <= value <= high:
        raise BadInputError(
            Message("errors.not_between", name=name, low=low, high=high, value=value)
        )


def parse_floats(text: str | Iterable, name: str) -> tuple[float, ...]:
    """``"0.2, 0.7"`` → ``(0.2, 0.7)``; words, NaN and infinities are refused.

    >>> parse_floats("0, 0.7", "temperatures")
    (0.0, 0.7)
    """
    values = []
    for item in _split(text):
        try:
            value = float(item)
        except ValueError:
            raise BadInputError(
                f"{name}: {item!r} is not a number.",
                key="errors.not_a_number",
                name=name,
                item=item,
            ) from None
        if not math.isfinite(value):
            raise BadInputError(
                f"{name}: {item!r} is not a finite number.",
                key="errors.not_finite",
                name=name,
                item=item,
            )
        values.append(value)
    return _nonempty(tuple(values), name)


def parse_ints(text: str | Iterable, name: str) -> tuple[int, ...]:
    """``"64, 128"`` → ``(64, 128)``.

    >>> parse_ints("1,2", "seeds")
    (1, 2)
    """
    values = []
    for item in _split(text):
        try:
            values.append(int(item))
        except ValueError:
            raise BadInputError(
                f"{name}: {item!r} is not a whole number.",
                key="errors.not_whole",
                name=name,
                item=item,
            ) from None
    return _nonempty(tuple(values), name)


def parse_seeds(text: str | Iterable, *, rng: random.Random | None = None) -> tuple[int, ...]:
    """Seeds as a list, or ``"3 random"`` / ``"random:3"`` for N fresh random seeds.

    >>> parse_seeds("1, 2")
    (1, 2)
    >>> len(set(parse_seeds("3 random")))
    3
    """
    match = _RANDOM_SEEDS.match(text) if isinstance(text, str) else None
    if match is None:
        return parse_ints(text, "seeds")
    count = int(match.group(1) or match.group(2))
    if not 1 <= count <= MAX_CELLS:
        raise BadInputError(
            f"seeds: ask for between 1 and {MAX_CELLS} random seeds.",
            key="errors.random_seeds",
            n=MAX_CELLS,
        )
    rng = rng or random.SystemRandom()
    return tuple(rng.randrange(MAX_SEED + 1) for _ in range(count))


def _split(text: str | Iterable) -> list[str]:
    if isinstance(text, str):
        return [part.strip() for part in re.split(r"[,\s;]+", text) if part.strip()]
    return [str(item).strip() for item in text]


def _nonempty(values: tuple, name: str) -> tuple:
    if not values:
        raise BadInputError(f"{name}: give at least one value.", key="errors.no_values", name=name)
    return values
