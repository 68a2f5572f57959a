"""仪表盘上的每一句话，简体中文版。键与 ``en.py`` 完全相同。

Technical names stay as users type them (top_p, max_tokens, eos, token, GGUF, CSV,
JSONL, stop / length as finish reasons in code), the words around them are Chinese.
"""

ZH_CN = {
    # -- 页面 ------------------------------------------------------------------------
    "app.tagline": "在 MLX 模型上做提示词实验",
    "app.language": "Language / 语言",
    "tab.compare": "对比",
    "tab.history": "运行记录",
    "tab.plots": "图表",
    "tab.models": "模型",
    "tab.tokenizer": "分词器",
    # -- 对比 ------------------------------------------------------------------------
    "compare.model": "模型",
    "compare.model_info": (
        "模型名、mlx-lm 目录、.gguf 文件、Ollama 模型名、HF 仓库 ID，"
        "或服务器：openai+http://host:8080/v1#model"
    ),
    "compare.open_tokenizer": "到分词器页检查它的 eos",
    "compare.mode": "模式",
    "compare.mode_chat": "对话",
    "compare.mode_raw": "原始文本",
    "compare.system": "系统提示词",
    "compare.system_placeholder": "（无）",
    "compare.prompt": "提示词",
    "compare.examples": "示例：点一个，再点运行",
    "compare.rendered": "渲染后的提示词",
    "compare.temperatures": "温度",
    "compare.seeds": "种子（或 3 random：随机 3 个）",
    "compare.top_p": "top_p",
    "compare.max_tokens": "最大 token 数（max_tokens）",
    "compare.engine": "引擎",
    "compare.engine_info": "batch 把各格一起解码，single 逐个运行：token 完全相同，batch 更快",
    "compare.judging": "输入与检查",
    "compare.inputs": "输入：每行一条，第一行是列名（CSV）",
    "compare.inputs_info": (
        "提示词里的 {{列名}} 用每一行的值填入；每行输入在网格中占一节；"
        "名为 expected 的列供 equals 检查使用"
    ),
    "compare.inputs_file": "载入 CSV / JSONL 文件",
    "compare.checks": "检查：每行一条，[名称=]类型[/i][:参数]",
    "compare.checks_info": (
        "contains、not-contains、regex、equals、json、json-schema、max-words、max-chars、"
        "stop — 例如 capital=regex/i:paris"
    ),
    "compare.rejudge": "重新评判上一个网格",
    "compare.run": "运行",
    "compare.stop": "停止",
    "compare.ready": "就绪。",
    "compare.cannot_read": "无法读取 {name}：{error}",
    "compare.rejudge_first": "请先运行一个网格（等它结束），再重新评判。",
    "compare.no_preview": "（无法预览：{error}）",
    "compare.preview_row": "── 第 1 行输入，共 {n} 行",
    "compare.preview_tokens": "── {n} 个 token",
    "compare.no_stop_warning": "⚠ 这个模型可能停不下来：{message}",
    # -- 带键的 yilab 错误（yilab.errors）及其中提到的字段 -----------------------------------
    "errors.empty_prompt": "提示词是空的：请输入让模型回答的内容。",
    "errors.not_a_number": "{name}：{item} 不是数字。",
    "errors.not_finite": "{name}：{item} 不是有限的数。",
    "errors.not_whole": "{name}：{item} 不是整数。",
    "errors.no_values": "{name}：请至少给一个值。",
    "errors.random_seeds": "种子：随机种子的个数须在 1 到 {n} 之间。",
    "errors.unknown_model": (
        "未知的模型 {spec}。模型可以是本地的 mlx-lm 目录（含 config.json）、.gguf 文件、"
        "形如 org/name 的 Hugging Face 仓库 ID、形如 yi:6b-chat 的 Ollama 模型、"
        "形如 openai+http://host:8080/v1#model-name 的服务器，或 `python -m yilab models` "
        "列出的名称。本机的模型：{known}"
    ),
    "errors.no_models_yet": "还没有",
    "param.temperatures": "温度",
    "param.seeds": "种子",
    "param.top_p": "top_p",
    "param.max_tokens": "max_tokens",
    # -- 准备模型时的进度 -----------------------------------------------------------------
    "progress.hashing": "正在计算 {name} 的哈希…",
    "progress.converting": "正在把 {name} 转换为 MLX（仅首次使用时）…",
    "progress.converting_ollama": "正在把 Ollama 模型 {name} 转换为 MLX（仅首次使用时）…",
    "progress.converted": "已转换到 {target}",
    "progress.reading": "正在读取张量",
    "progress.tensors": "正在转换张量 {i}/{n}",
    "progress.tokenizer": "正在写入分词器",
    "progress.downloading_from": "正在从 huggingface.co 下载 {repo}…",
    "progress.downloading": "正在下载 {repo}…",
    "progress.downloaded": "已下载 {repo}",
    # -- 运行记录写不进去（暂存文件）与恢复 ------------------------------------------------
    "log.run": "{n} 次运行",
    "log.runs": "{n} 次运行",
    "log.lost": "运行记录 {db} {cause}，而且 {error}：{runs}的输出没有保存",
    "log.merged": "运行记录 {db} {cause}：{runs}暂存在 {spill}，扫描结束时已合并回去",
    "log.kept": "运行记录 {db} {cause}：{runs}暂存在 {spill}；下次能写入运行记录时会合并回去",
    "log.cause_disk_full": "已满{detail}",
    "log.cause_full": "已满（{reason}）",
    "log.cause_deleted": "已被删除",
    "log.cause_replaced": "已被另一个文件替换",
    "log.cause_gone": "不见了（{reason}）",
    "log.cause_locked": "被另一个写入者锁住了（{reason}）",
    "log.cause_other": "无法写入（{reason}）",
    "log.recovered": "已把 {runs}从 {path} 恢复到 {db}{damaged}",
    "log.damaged": "（跳过了 {n} 行损坏的记录）",
    # -- 卡片操作（网格下方的面板） ---------------------------------------------------------
    "cards.diff_against": "与之对比差异",
    "cards.not_branch": "不是有效的分支请求：{value}",
    "cards.branch_head": (
        "{cell} 在第 {position} 个 token 处的分支：用 {chosen} 代替 {drawn}"
        "（设置相同；作为独立的一次运行记录）"
    ),
    "cards.replaying": "正在重放运行 {run}…",
    "cards.replay_head": "重放运行 {run} → {new}：{verdict}",
    "cards.identical": "完全相同 ✓",
    "cards.different": "有差异 ✗",
    "cards.no_other": "没有其他已完成的卡片可供对比。",
    "cards.vs": "{a}  对比  {b}",
    # -- 网格与卡片 -----------------------------------------------------------------------
    "grid.starting": "正在开始…",
    "grid.list_sep": "，",
    "grid.loading": "正在加载 {model}…",
    "grid.queued": "排队中：前面还有 {n} 个扫描…",
    "grid.running": "正在运行第 {cell} 格，共 {n} 格…",
    "grid.done": "完成：{counts}",
    "grid.as_logged": "记录中的结果：{counts}",
    "grid.engine": "引擎：{engine}",
    "grid.section": "输入 {n} · {label}",
    "grid.default_model": "默认模型",
    "grid.greedy": "T=0 是贪心解码：种子不起作用",
    "grid.same_as": "与 T={temperature} · 种子 {seed} 相同",
    "grid.no_stop": "这个模型可能停不下来 — 检查它的 eos（分词器页）",
    "grid.tokens": "{n} 个 token",
    "grid.seed": "种子 {seed}",
    "grid.max": "上限 {n}",
    "grid.act_copy": "复制输出",
    "grid.copied": "已复制",
    "grid.copy_failed": "复制失败",
    "grid.act_replay": "再运行一次并比较",
    "grid.act_history": "在运行记录中打开它的实验",
    "grid.act_diff": "与另一张卡片对比差异",
    "grid.act_probs": "显示每个 token 的概率",
    # 卡片的 token 视图：概率、各次运行的分叉点、轮次结束曲线
    "tokens.given": "给定",
    "tokens.drawn": "抽中",
    "tokens.entropy": "熵 {value} nats",
    "tokens.margin": "领先 {token} {margin} 个百分点",
    "tokens.branch_hint": "点击一个 token，从这里分支",
    "tokens.shade_by": "着色依据",
    "tokens.mode_probability": "概率",
    "tokens.mode_entropy": "熵",
    "tokens.this_run": "本次运行",
    "tokens.ended": "已结束（{name}）",
    "tokens.parts_from": "在这里与 {names} 分叉：{parts}",
    "tokens.stops": "会停止运行",
    "tokens.no_stop": "不是停止 token",
    "tokens.turn_end": "轮次结束",
    "tokens.fix_link": "到分词器页修复",
    "tokens.fix_text": "在 yilab 的分词器页修复",
    "tokens.missed": "{token} 在第 {n} 个 token 处的概率为 {p}，但它不是停止 token",
    "tokens.spark_title": "每个 token 处轮次结束的概率：最高 {p}，在第 {n} 个 token",
    "tokens.no_tokens": "没有 token",
    # 停止原因与状态（徽标和计数；存储的值仍是英文）
    "state.waiting": "等待中",
    "state.running": "运行中",
    "state.stop": "正常结束",
    "state.length": "达到上限",
    "state.cancelled": "已取消",
    "state.error": "出错",
    "state.interrupted": "已中断",
    "state.done": "完成",
    # -- 评分（网格行标题、评分表） -----------------------------------------------------------
    "scores.pass": "通过 {rate}",
    "scores.distinct": "{distinct}/{outputs} 不同",
    "scores.sim": "相似度 {value}",
    "scores.yes": "是",
    "scores.no": "否",
    "scores.col_input": "输入",
    "scores.col_model": "模型",
    "scores.col_max": "上限",
    "scores.col_runs": "运行数",
    "scores.col_all": "全部",
    "scores.col_distinct": "不同",
    "scores.col_sim": "相似度",
    "scores.col_len": "长度",
    "scores.similarity_method": "按词计算的归一化编辑距离，中日韩文按字计",
    "scores.legend": (
        "通过：该行已完成的运行中通过该检查的比例 · 全部：通过所有检查 · "
        "@k：k 个种子中至少一个全部通过 · ^k：k 个都全部通过 · 不同：互不相同的输出 · "
        "d-1/d-2：不重复的词 / 词对占全部的比例 · 相似度：两两相似度的平均值（{method}）· "
        "长度：词数（中文按字计），平均值 ± 标准差"
    ),
    # -- 运行记录 -----------------------------------------------------------------------------
    "history.search": "搜索提示词和输出",
    "history.search_placeholder": "文本…（回车）",
    "history.search_info": (
        "在提示词和输出的任意位置查找，不分大小写（北京 能找到 我爱北京天安门，token 能找到 "
        'tokenizer）；每个词都必须出现；用 "双引号" 把词连在一起。'
    ),
    "history.model": "模型",
    "history.temperature": "温度",
    "history.finish": "停止原因",
    "history.status": "状态",
    "history.any": "全部",
    "history.input": "输入",
    "history.refresh": "刷新",
    "history.experiments": "实验",
    "history.runs": "运行",
    "history.experiment_id": "实验 ID",
    "history.experiment_placeholder": "在上面选一行，或粘贴一个 ID",
    "history.rerun": "重新运行",
    "history.select": "请在上面选择一个实验或一次运行。",
    "history.checks": "本实验的检查：每行一条，[名称=]类型[/i][:参数]",
    "history.rejudge": "重新评判",
    "history.run_picker": "要加星 / 备注的运行",
    "history.star": "☆ 加星",
    "history.starred": "★ 已加星",
    "history.note": "备注",
    "history.note_placeholder": "给这次运行写个备注",
    "history.save_note": "保存备注",
    "history.diff_a": "对比运行 A",
    "history.diff_b": "与运行 B",
    "history.note_saved": "备注已保存。",
    "history.open_first": "请先打开一个实验。",
    "history.rerun_first": "请先打开一个实验，再重新运行。",
    "history.pick_two": "请选两个运行来对比。",
    "history.pick_run": "请先选一个运行（“运行”表中的一行，或运行选择框）。",
    "history.col_time": "时间",
    "history.col_model": "模型",
    "history.col_prompt": "提示词",
    "history.col_runs": "运行数",
    "history.col_seed": "种子",
    "history.col_finish": "停止原因",
    "history.col_tokens": "token 数",
    "history.col_output": "输出",
    "history.col_note": "备注",
    "history.n_runs": "{n} 次运行",
    "history.exp_note": "备注：{note}",
    "history.label_system": "系统提示词",
    "history.label_prompt": "提示词",
    "history.label_inputs": "输入",
    "history.set_temperatures": "温度",
    "history.set_seeds": "种子",
    # -- 分享（运行记录页底部） ------------------------------------------------------------
    "share.title": "分享：导出、HTML 报告、导入",
    "share.format": "格式",
    "share.scope": "导出范围",
    "share.scope_experiment": "当前实验",
    "share.scope_search": "搜索结果",
    "share.scope_all": "全部",
    "share.redact": "不包含系统提示词",
    "share.truncate": "输出截断为 N 个字符（0：不截断）",
    "share.export": "导出",
    "share.html": "分享为 HTML",
    "share.exported": "已导出",
    "share.import": "导入数据包…",
    "share.open_first": "请先打开一个实验（或选择导出“全部”）。",
    "share.search_first": "搜索框是空的：请先搜索（或选择导出“全部”）。",
    "share.unknown_scope": "未知的导出范围 {scope}：可选 {scopes}",
    "share.unknown_format": "未知的格式 {format}：可选 {formats}",
    "share.experiment": "{n} 个实验",
    "share.experiments": "{n} 个实验",
    "share.run": "{n} 次运行",
    "share.runs": "{n} 次运行",
    "share.conflict": "{n} 处冲突",
    "share.conflicts": "{n} 处冲突",
    "share.row_experiment": "实验",
    "share.row_run": "运行",
    "share.imported": (
        "{name}：新增 {experiments} / {runs} · 跳过 {skipped_experiments} / "
        "{skipped_runs}（已存在）· "
    ),
    "share.no_conflicts": "没有冲突",
    "share.kept_yours": "{conflicts}，保留了你这边的：",
    "share.more": "；还有 {n} 处",
    "share.import_hint": (
        "导入会把数据包（.json）合并进这份运行记录：已有的行会跳过，"
        "内容不同的行会列出来，并保留你这边的版本。"
    ),
    # -- HTML 报告 ----------------------------------------------------------------------------
    "report.title": "yilab 报告",
    "report.experiment": "{n} 个实验",
    "report.experiments": "{n} 个实验",
    "report.run": "{n} 次运行",
    "report.runs": "{n} 次运行",
    "report.exported": "导出于 {when} UTC",
    "report.hint": "在两张卡片上点“对比”（同一实验内或跨实验均可），即可逐词并排查看它们的输出。",
    "report.no_system": "系统提示词未包含在内。",
    "report.cut": "输出已截断为 {n} 个字符（… 表示截断处）。",
    "report.no_runs": "没有运行。",
    "report.field_prompt": "提示词",
    "report.field_system": "系统提示词",
    "report.field_mode": "模式",
    "report.field_temperatures": "温度",
    "report.field_seeds": "种子",
    "report.field_top_ps": "top_p",
    "report.field_max_tokens": "最大 token 数",
    "report.field_top_k": "top_k",
    "report.field_min_p": "min_p",
    "report.field_repetition_penalty": "重复惩罚",
    "report.field_extra_eos_ids": "额外的 eos id",
    "report.field_inputs": "输入",
    "report.field_checks": "检查",
    "report.field_note": "备注",
    "report.field_model": "模型",
    "report.field_versions": "版本",
    "report.fingerprint": "指纹 {value}",
    "report.eos_turn_end": "eos {eos} · 轮次结束 {turn_end}",
    "report.stop_ids": "停止 id {ids}",
    "diff.identical": "完全相同",
    "diff.counts": "{same} 处相同 · {removed} 处删除 · {added} 处新增",
    "report.js_close": "关闭",
    "report.js_compare": "对比",
    "report.js_compare_title": "选两张卡片来对比它们的输出",
    "report.js_vs": "对比",
    # -- 图表 --------------------------------------------------------------------------------
    "plots.experiment": "实验",
    "plots.refresh": "刷新",
    "plots.length": "输出长度与温度",
    "plots.length_y": "生成的 token 数",
    "plots.speed": "每格的 token/s",
    "plots.passing": "通过全部检查的比例与温度",
    "plots.passing_none": "通过率（尚无检查）",
    "plots.passing_y": "运行占比 %",
    "plots.diversity": "多样性与温度（distinct-2：不重复词对 / 全部词对）",
    "plots.history": "各模型的 token/s 随时间变化",
    "plots.finish": "停止原因",
    "plots.model": "模型",
    "plots.input": "输入",
    "plots.input_n": "输入 {n}",
    "plots.all": "全部",
    # -- 模型 --------------------------------------------------------------------------------
    "models.heading": "本机上的模型 · MLX 在 {device} 上计算 · 远程模型来自 {path}",
    "models.refresh": "刷新",
    "models.import_spec": "导入 GGUF 或 Ollama 模型",
    "models.import_placeholder": "~/Downloads/model.Q4_K_M.gguf 或 yi:6b-chat",
    "models.upload": "…或上传一个 .gguf",
    "models.import": "导入（转换为 MLX）",
    "models.repo": "从 Hugging Face 下载",
    "models.download": "下载",
    "models.type_first": "请先输入 .gguf 路径、Ollama 模型名或仓库 ID。",
    "models.ready": (
        "就绪：{name}（{source}），位于 {path}。在对比页或分词器页中以 {spec} 选用它。"
    ),
    "models.col_name": "名称",
    "models.col_source": "来源",
    "models.col_path": "路径",
    "models.col_size": "大小",
    "models.col_quantization": "量化",
    "models.col_architecture": "架构",
    "models.col_device": "设备",
    "models.not_converted": "（GGUF，首次使用时转换）",
    "models.cannot_convert": "（无法转换：{reason}）",
    # -- 分词器 ------------------------------------------------------------------------------
    "tok.model": "模型",
    "tok.model_info": "模型名、mlx-lm 目录、.gguf 文件、Ollama 模型名或 HF 仓库 ID",
    "tok.inspect": "检查",
    "tok.pick": "选一个模型，然后点“检查”。",
    "tok.apply": "应用修复",
    "tok.undo": "撤销修复",
    "tok.text": "对一段文本分词",
    "tok.text_placeholder": "任意文本，可包含特殊 token",
    "tok.chat": "作为用户消息（套用对话模板）",
    "tok.tokenize": "分词",
    "tok.ba_prompt": "修复前 / 后对比用的提示词",
    "tok.ba_info": "以 T=0、48 个 token 运行，分别用当前的停止集合和修复后的；两次都会记录",
    "tok.before_after": "修复前 / 后",
    "tok.inspect_first": "请先检查一个模型。",
    "tok.stops_at": "mlx-lm 在这些 token 处停止：{stops}",
    "tok.specials": "特殊 token，逐个文件列出",
    "tok.col_file": "文件",
    "tok.col_setting": "设置项",
    "tok.col_token": "token",
    "tok.template_meta": "对话模板：{source} · 助手轮次结束：{end}",
    "tok.none_found": "未找到",
    "tok.none": "无",
    "tok.template": "对话模板（渲染后）",
    "tok.no_template": "没有可渲染的对话模板。",
    "tok.turn_end_stops": "轮次结束：mlx-lm 在此停止",
    "tok.turn_end_runs_on": "轮次结束：mlx-lm 不会在此停止",
    "tok.count_ids": "{n} 个 token · id：",
    "tok.fix": "修复",
    "tok.nothing_to_fix": "无需修复：轮次结束 token 已是停止 token。",
    "tok.no_change": "这个结论下没有计划修改文件。",
    "tok.runtime": "或者在运行时指定，不改文件：",
    "tok.backups": "备份：{names}（撤销时会恢复它们）",
    "tok.before": "修复前：按文件中的设置 · 在 id {ids} 处停止",
    "tok.after": "修复后：加上修复（运行时覆盖）· 在 id {ids} 处停止",
    "tok.nothing": "无",
    "tok.waiting": "等待中…",
    "tok.fixed_outcome": "length → stop：加上修复后，生成在轮次结束处停止。",
    "tok.ollama_title": "Ollama（{name}）：{title}",
    "tok.ollama_col_stop": "Ollama 的停止词（params）",
    "tok.ollama_col_stops": "mlx-lm 是否在此停止",
    "tok.ollama_eos": "GGUF 的 eos：{eos} · mlx-lm 在这些 token 处停止：{stops}",
    "tok.ollama_also": " · 也以 {names} 导入",
    "tok.ollama_unknown": "未知",
    "tok.ollama_fix": "修复方法，让 mlx-lm 在 Ollama 停止的地方停止：",
    "tok.ollama_yes": "✓ 是",
    "tok.ollama_no": "✗ 否",
    "tok.ollama_tokens_only": "— 只能停在 token 上",
    "tok.ollama_a_text": "一段文本",
    "tok.ollama_layers": "Ollama 的模板、系统提示词和参数",
    "tok.ollama_template": "模板（Go 模板）",
    "tok.ollama_system": "系统提示词",
    "tok.ollama_params": "参数",
    # -- 检查结论（通俗说法） ------------------------------------------------------------------
    "verdict.ok": "正常：生成会在每个助手轮次结束时停止",
    "verdict.eos_mismatch": "EOS 不匹配：生成不会在轮次结束时停止",
    "verdict.tokenizer_eos_mismatch": "分词器的 eos 不同：mlx-lm 会停止，其他一些工具不会",
    "verdict.no_chat_template": "没有对话模板：这看起来是一个基础模型",
    "verdict.invalid_config": "配置无效：有文件无法使用",
    "ollama_verdict.ok": "Ollama 停止的地方，mlx-lm 都会停止",
    "ollama_verdict.missing_stops": "Ollama 会停止的地方，mlx-lm 不会停止",
    "summary.nothing": "无",
    "summary.invalid_config": "有一个配置文件无法使用：{message}。工具会报错或自行猜测。",
    "summary.template_not_loaded": (
        "mlx-lm 没有加载任何对话模板：模型的模板在 chat_template.json 里，而 transformers "
        "的分词器从不读取这个文件，所以对话提示词会失败。"
    ),
    "summary.empty_template": "chat_template.jinja 是空的，而 transformers 会用它：对话提示词是空的。",
    "summary.no_template": "没有对话模板：这看起来是一个基础模型，而不是对话模型。",
    "summary.ambiguous": (
        "模板用 {token} 结束回答，但回答中间也会写出它，所以 yilab 无法判断回答在哪里结束；"
        "mlx-lm 在 {stops} 处停止。"
    ),
    "summary.no_turn_end": "模板没有标出轮次结束；mlx-lm 在 {stops} 处停止。",
    "summary.ok": "助手轮次以 {end} 结束，mlx-lm 会在那里停止。",
    "summary.tokenizer_eos_mismatch": (
        "mlx-lm 会在 {end} 处停止，因为 {source} 列出了它；但分词器的 eos 是 {eos}："
        "只读取分词器 eos 的工具会一直生成下去。"
    ),
    "summary.eos_mismatch": (
        "对话模板用 {end} 结束每个助手轮次，但 mlx-lm 只在 {stops} 处停止：生成会一直持续到 "
        "max_tokens，输出 {token} 并编造新的对话轮次。"
    ),
    "problem.template_error": "对话模板无法渲染：{error}",
    "problem.no_system_role": "模板不接受系统消息；检查时没有带系统消息",
    "problem.ambiguous_turn_end": (
        "模板用 {token} 结束回答，但回答内部（推理之后）也会写出它：在那里停止会截断回答，"
        "所以 yilab 无法从模板判断回答在哪里结束"
    ),
    "problem.assistant_dropped": "模板丢掉了助手的消息，因此读不出它的轮次结束",
    "problem.no_turn_end": "助手消息之后没有特殊 token：没有任何东西标出轮次结束",
    "problem.no_generation_prompt": (
        "回复用的提示词以关闭用户轮次结尾，却没有开启助手轮次：模型可能会再写一个用户轮次"
        "（请加上 add_generation_prompt 块）"
    ),
    "problem.tool_call_not_stop": (
        "工具调用以 {token} 结束，但 mlx-lm 不会在那里停止：调用工具后模型会继续生成，"
        "而不是等待工具的结果"
    ),
    "problem.stop_mid_answer": (
        "mlx-lm 会在 {token}（{source}）处停止，而模板在回答内部也会写出它：回答还没写完生成就停了"
    ),
    "problem.no_config_json": "没有 config.json：mlx-lm 无法把这个目录当作模型加载",
    "problem.invalid_value": "{file}：{key} 是 {value}，应为 {expected}",
    "problem.expected_token": "token 字符串、AddedToken 或 null",
    "problem.expected_id": "token id、id 列表或 null",
    "problem.pad_is_eos": (
        "pad 就是 eos token（{token}）：推理时无害，但微调时屏蔽填充也会屏蔽 eos，"
        "模型会学成永远不停止"
    ),
    "problem.no_eos": "分词器没有 eos token：只有配置文件里的 id 能让生成停止",
    "problem.bos_mismatch": "bos 的 id 不一致：{ids}",
    "problem.double_bos": (
        "模板会写出 {token}，而分词器也会再加一个：用特殊 token 编码渲染后的提示词会得到两个 bos"
        "（mlx-lm 对已经以 bos 开头的字符串提示词不会再加 bos）"
    ),
    "problem.eos_out_of_vocab": "eos id {id}（{source}）超出了大小为 {size} 的词表",
    "problem.unknown_token_id": (
        "没有任何文件给出 {token} 的 id（请添加 tokenizer.json 或 added_tokens_decoder）"
    ),
    "warning.double_bos_chat": (
        "两个 bos：模板会写出 {token}，分词器又加了一个。mlx-lm 不会给已经以它开头的提示词再加，"
        "但其他工具（tokenizer(text)、llama.cpp）可能会加。"
    ),
    "warning.double_bos_text": "两个 bos：文本以 {token} 开头，分词器又在前面加了一个",
    "warning.incomplete_tokenizer": "这些 token 拼不回原文：这个分词器看起来不完整（缺少 tokenizer.json？）",
    "ollama.missing": (
        "`ollama run {name}` 会在 {listed} 处停止（它的 params 里的 stop 列表）；GGUF 的 eos 是 "
        "{eos}，而 mlx-lm 只在 {stops} 处停止：Ollama 结束回复的地方，mlx-lm 会一直生成到 "
        "max_tokens，并输出 {printed}。"
    ),
    "ollama.all_stop": "`ollama run {name}` 停止的每个 token，mlx-lm 都会停止：{listed}。",
    "ollama.no_stop": (
        "Ollama 的 params 没有为 {name} 指定停止 token：它在 GGUF 的 eos {eos} 处停止，"
        "mlx-lm 在 {stops} 处停止。"
    ),
    "ollama.texts": (
        "{said} Ollama 还会在文本 {texts} 处停止，但它不是单个 token：mlx-lm 只能在 token "
        "处停止，所以这里的修复无法让它在那里停下。"
    ),
    "wording.no_stops": "无（生成总会持续到 max_tokens）",
    "wording.stops_there": "mlx-lm 会在此停止",
    "wording.runs_on": "mlx-lm 不会在此停止",
    "wording.mid_answer": "回答中间也会写出它，所以不能作为停止 token",
    "wording.answers_end": "回答以 {token} 结束：{status}",
    "wording.tool_calls_end": "工具调用以 {token} 结束：{status}",
    "wording.history_end": "历史消息以 {token} 结束",
    "wording.inner": "回答中间写出的 token（永远不是停止 token）：{tokens}",
    "tok.fixed": "已修复：{files}",
    "tok.undone": "已撤销：{files}",
    "tok.nothing_to_compare": "没有可对比的：{summary}（撤销修复后可看到差别。）",
    # -- 检查项的错误（checks.py）：类型、正则和 schema 照原样显示 ------------------------
    "check.none": "无",
    "check.not_object": "检查项必须是 JSON 对象，而不是 {type}。",
    "check.fields": "检查项的字段是 {fields}（name 和 kind 必填）；收到的是 {got}。",
    "check.not_text": "检查项必须是文本，而不是 {type}。",
    "check.empty": "检查项是空的：请写成 contains:Paris 这样的形式。",
    "check.bad_flag": "{kind}：类型后面只能跟 /i（忽略大小写），不能跟 /{flag}。",
    "check.too_many": "共有 {n} 个检查项，上限是 {limit} 个。",
    "check.on_line": "第 {n} 行的检查项：{error}",
    "check.twice": (
        "有两个检查项都叫 {check}（第 {first} 行和第 {n} 行）：请给其中一个另起名字，"
        "例如 'other={spec}'。"
    ),
    "check.unknown_kind": "未知的检查类型 {kind}；可用的类型有 {kinds}。{hint}",
    "check.did_you_mean": "你是不是想写 {kind}？",
    "check.name_not_text": "检查项的名字必须是文本，而不是 {type}。",
    "check.name_empty": "检查项的名字是空的：请写成 名字=类型，例如 capital=regex:^Paris。",
    "check.bad_name": (
        "检查项名字 {check} 不能用：名字最多 {n} 个字符，不能含 '='、':' 或换行，"
        "首尾不能有空格，也不能以 '#' 开头。"
    ),
    "check.bad_ignore_case": "{kind}：ignore_case 必须是 true 或 false，而不是 {value}。",
    "check.case_kinds": "{kind}：/i（忽略大小写）只适用于 {kinds}。",
    "check.no_arg": "{kind} 不带参数（收到了 {arg}）；只写 {kind} 即可。",
    "check.arg_not_text": "{kind} 的参数必须是文本，而不是 {type}。",
    "check.needs_arg": "{kind} 需要在冒号后面给出参数，例如 {example}。",
    "check.arg_too_long": "{kind} 的参数有 {n:,} 个字符，上限是 {limit:,}。",
    "check.arg_one_line": "{kind} 的参数必须只有一行，首尾不能有空格。",
    "check.bad_count": "{kind} 需要 1 到 {limit:,} 之间的整数，例如 {example}；收到的是 {arg}。",
    "check.bad_regex": "正则表达式 {pattern} 无效：{error}{where}。",
    "check.at_position": "（位置 {pos}）",
    "check.regex_deep": "正则表达式 {pattern} 嵌套太深。",
    "check.nested_repeat": (
        "正则表达式 {pattern} 在重复里又套了重复，例如 (a+)+ 或 (\\w+\\s*)*，遇到几乎能匹配的"
        "输出时可能耗费指数级的时间。请改写成每个重复只有一种匹配方式，或者把内层改成"
        "占有型 (a++) 或原子组 ((?>a+))。"
    ),
    "check.schema_not_object": 'JSON Schema 应是像 {{"type": "object"}} 这样的对象，而不是 {text}。',
    "check.schema_not_json": "JSON Schema 不是合法的 JSON：{error}。",
    "check.json_error": "{error}（第 {line} 行第 {column} 列）",
    "check.schema_invalid": "JSON Schema 无效{where}：{error}。",
    "check.at_path": "（位于 {path}）",
    "check.schema_deep": "JSON Schema 嵌套太深。",
    # -- 检查项的理由（卡片上 ✓/✗ 的悬停提示） -------------------------------------------
    "judged.contains": "包含 {text}",
    "judged.lacks": "不包含 {text}",
    "judged.no_match": "没有匹配到 {pattern}",
    "judged.matched": "在第 {pos} 个字符处匹配到 {text}（从 0 数起）",
    "judged.no_expected": "这一行输入没有期望值",
    "judged.equals": "与期望值相同",
    "judged.differs": "得到 {got}，期望 {want}",
    "judged.not_json": "不是 JSON：{error}",
    "judged.fenced": "（在代码块中）",
    "judged.valid_json": "是合法的 JSON{where}",
    "judged.unresolvable": "无法检查：schema 的 $ref {ref} 不在 schema 里（不会从外部获取）",
    "judged.json_deep": "无法检查：JSON 嵌套太深",
    "judged.matches_schema": "符合 schema{where}",
    "judged.empty_output": "输出是空的",
    "judged.nested": "嵌套太深",
    "judged.constant": "JSON 里不允许 {constant}",
    "judged.words_one": "有 {n:,} 个词（最多 {limit:,} 个）",
    "judged.words": "有 {n:,} 个词（最多 {limit:,} 个）",
    "judged.chars_one": "有 {n:,} 个字符（最多 {limit:,} 个）",
    "judged.chars": "有 {n:,} 个字符（最多 {limit:,} 个）",
    "judged.stopped": "模型自己结束了回答（stop）",
    "judged.unfinished": "没有结束原因（这次运行没有完成）",
    "judged.hit_limit": "没有自己结束，而是达到了 max_tokens 上限（length）",
    "judged.not_stopped": "以“{reason}”结束，而不是模型自己结束（stop）",
    # -- 扫描的设置和输入表（sweep.py、variables.py） ------------------------------------
    "errors.too_many_cells": "这次扫描有 {cells} 格{across}，上限是 {limit} 格。请少给一些值。",
    "errors.cells_across": "（{inputs} 行输入 × {cells}）",
    "errors.checks_twice": "有两个检查项都叫 {check}：请给每个检查项起不同的名字。",
    "errors.equals_needs_expected": (
        "equals 检查会把每个输出和该行输入的期望值比较：请在输入表里加一列 {column}。"
    ),
    "errors.must_be_number": "{name}：必须是数字，而不是 {value}。",
    "errors.out_of_range": "{name}：必须在 {span} 范围内，而不是 {value}。",
    "errors.must_be_whole": "{name}：必须是整数，而不是 {value}。",
    "errors.not_between": "{name}：必须在 {low:,} 到 {high:,} 之间，而不是 {value:,}。",
    "param.temperature": "温度",
    "param.seed": "种子",
    "inputs.no_value": "{names} 没有值。",
    "inputs.needs_values": "提示词用到了 {names}：请给出它们的值（一张输入表，或 --var {first}=...）。",
    "inputs.too_many": "输入表有 {n} 行，上限是 {limit} 行。",
    "inputs.row_missing": "第 {n} 行输入没有 {names} 的值。",
    "inputs.unused_columns": (
        "输入表有列，但提示词一列都没用到：请在每个值该出现的地方写上 {{列名}}。"
    ),
    "inputs.row_not_mapping": "第 {n} 行输入必须是列名到值的映射。",
    "inputs.bad_column": "第 {n} 行输入：{column} 不能用作列名（只能用字母、数字和 _，且不能以数字开头）。",
    "inputs.value_not_text": "第 {n} 行输入：{column} 的值必须是文本。",
    "inputs.value_too_long": "第 {n} 行输入：{column} 的值有 {chars:,} 个字符，上限是 {limit:,}。",
    "inputs.no_rows": "{file} 里没有输入行。",
    "inputs.file_too_many": "{file} 有 {n} 行，上限是 {limit} 行。",
    "inputs.empty_file": "输入文件是空的。",
    "inputs.bad_csv": "输入文件不是合法的 CSV：{error}。",
    "inputs.column_twice": "输入文件里有重复的列名：{columns}。",
    "inputs.line_width": "输入文件第 {n} 行有 {values} 个值，但表头有 {columns} 列。",
    "inputs.bad_json": "输入文件不是合法的 JSON：{error}。",
    "inputs.json_not_list": "JSON 输入文件应是一个对象列表，每个对象是一行输入。",
    "inputs.bad_json_line": "输入文件第 {n} 行不是合法的 JSON：{error}。",
    "inputs.row_not_object": "第 {n} 行输入必须是“列名: 值”形式的对象。",
    "inputs.value_type": "第 {n} 行输入：{column} 的值是 {type}；请给文本或数字。",
    # -- 找不到的运行、加载不了的模型、内存 ------------------------------------------------
    "store.run": "运行",
    "store.runs": "运行",
    "store.experiment": "实验",
    "store.experiments": "实验",
    "store.id_too_short": "{kind} ID {ident} 太短：请至少给 {n} 个字符",
    "store.not_found": "{path} 里没有 ID 为 {ident} 的{kind}",
    "store.ambiguous": "{kind} ID {ident} 匹配到多条{table}：请多给几个字符",
    "memory.weights": (
        "{model} 的权重大约需要 {need:.1f} GB 内存，但只剩 {free:.1f} GB 可用："
        "请关闭其他程序，或换一个更小的或量化过的模型。"
    ),
    "memory.kv_caches": (
        "这次扫描的 KV 缓存大约需要 {need:.1f} GB（{rows} 格 × {tokens:,} 个 token），"
        "但只剩 {free:.1f} GB 可用：请减少同时运行的格数（single 引擎一次只跑一格）、"
        "调低 max_tokens 或缩短提示词。"
    ),
    "load.no_tokenizer_file": (
        "无法加载 {path} 的模型：它没有分词器文件（tokenizer.json、tokenizer.model 或 "
        "vocab.json）。请从模型的来源处把分词器文件复制过来。"
    ),
    "load.failed": "无法加载 {path} 的模型：{error}",
    "load.no_usable_tokenizer": "{path} 没有可用的分词器（缺少 tokenizer.json？）",
    "load.tokenizer_failed": "无法从 {path} 加载分词器：{error}",
    "load.cannot_load": "无法加载 {path}：{error}",
    "load.not_model_dir": "{path} 不是模型目录",
    "load.offline": (
        "无法下载 {repo}：连不上 huggingface.co（离线）。请在别处下载后传入它的目录，"
        "或把它复制到 Hugging Face 缓存里再重试。"
    ),
    "convert.architecture": "不支持的 GGUF 架构 {arch}（支持的有：{supported}）",
    "convert.not_gguf": "{path} 不是 GGUF 文件（开头不是 'GGUF'）",
    "convert.too_old": "{path}：GGUF 版本 {version} 太旧；请重新导出这个文件",
    "convert.unfinished": "{path} 里有一次没完成的转换：请删掉它再重试",
    "convert.ollama": "Ollama 模型 {name} 无法转换：{problem}",
}
