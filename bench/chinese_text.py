"""Chinese text for the run-log benchmark: common words in a Zipf-like order, run together
without spaces as Chinese is written, with ，and 。 as punctuation.

``ChineseText(random.Random(1)).text(40)`` → e.g. ``"我们的故事，在很久很久以前一个小城市里。…"``
"""

from __future__ import annotations

import random

# Roughly most frequent first: function words and pronouns, then everyday words, then the
# topics of the benchmark's prompts (stories, Beijing, lighthouses, models). A few set
# phrases (我爱北京天安门, 很久很久以前) are single entries so phrase queries have hits.
CHINESE_WORDS = """的 了 是 我 不 在 人 有 他 这 个 们 中 来 上 大 为 和 国 地 到 以 说 时 要 就 出
会 可 也 你 对 生 能 而 子 那 得 于 着 下 自己 之 年 过 发 后 作 里 用 道 行 所 然 家 种 事 成
方 多 经 么 去 法 学 如 都 同 现在 当 没有 动 面 起 看 定 天 分 还 进 好 小 部 其 些 主 样 理
心 她 本 前 开 但 因为 只 从 想 实 日 军 者 意 无 力 它 与 长 把 机 十 民 第 公 此 已 工 使
情 明 性 知道 全 三 又 关 点 正 业 外 将 两 高 间 由 问题 很 最 重 并 物 手 应 战 向 头 文 体
政 美 相 见 被 利 什么 二 等 产 或 新 己 制 身 果 加 西 斯 月 话 合 回 特 代 内 信 表 化 老
给 世界 位 次 度 门 任 常 先 海 通 教 儿 原 东 声 提 立 及 比 员 解 水 名 真 论 处 走 义 各
入 几 口 认 条 平 系 气 题 活 尔 更 别 打 女 变 四 神 总 何 电 数 安 少 报 才 结 反 受 目 太
量 再 感 建 务 做 接 必 场 件 计 管 期 市 直 德 资 命 山 金 指 克 许 统 区 保 至 队 形 社 便
空 决 治 展 马 科 司 五 基 眼 书 非 则 听 白 却 界 达 光 放 强 即 像 难 且 权 思 王 象 完 设
式 色 路 记 南 品 住 告 类 求 据 程 北 早 今天 明天 昨天 时候 以后 以前 地方 东西 事情 我们
你们 他们 一个 这个 那个 可以 怎么 为什么 所以 但是 如果 已经 自己的 非常 一起 一直 一样
觉得 喜欢 希望 开始 觉得 朋友 孩子 妈妈 爸爸 老师 学生 学校 城市 国家 中国 北京 上海 工作
学习 生活 故事 童话 公主 王子 国王 森林 大海 月亮 太阳 星星 天空 灯塔 守护人 瓶子 消息 龙
图书馆 语言 文字 模型 温度 采样 提示词 分词器 答案 首都 法国 巴黎 面包 食谱 历史 印刷术
天安门 我爱北京天安门 从前 很久很久以前 小城市 海边 夜晚 早上 晚上 春天 夏天 秋天 冬天 花园
小猫 小狗 小鸟 兔子 狐狸 老虎 熊猫 大象 河流 高山 小溪 草原 沙漠 村庄 城堡 宝藏 魔法 巫师
勇敢 善良 聪明 美丽 安静 快乐 伤心 害怕 奇怪 神秘 古老 温暖 寒冷 明亮 黑暗 红色 蓝色 绿色
黄色 白色 回家 出发 旅行 冒险 发现 寻找 帮助 保护 守护 等待 相信 记得 忘记 回答 解释 翻译
总结 介绍 描述 列出 首先 其次 最后 总之 例如 比如 另外 而且 然后 于是 突然 终于 从此 永远"""

ZH_PROMPTS = [
    "讲一个关于灯塔守护人的童话故事。",
    "北京有哪些有名的地方？",
    "用三句话介绍一下月亮。",
    "写一首关于夜晚大海的诗。",
    "解释一下分词器是怎么把句子分成词的。",
    "法国的首都是哪里？",
    "给我一个只用四种材料的面包食谱。",
    "为什么天空是蓝色的？",
]


class ChineseText:
    """Zipf-distributed Chinese words of a chosen length, with ，and 。 between clauses."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.words = list(dict.fromkeys(CHINESE_WORDS.split()))
        total, self.cum = 0.0, []
        for rank in range(len(self.words)):
            total += 1 / (rank + 1) ** 1.05
            self.cum.append(total)

    def text(self, chars: int) -> str:
        """About ``chars`` characters."""
        out, length, clause = [], 0, 0
        while length < chars:
            word = self.rng.choices(self.words, cum_weights=self.cum)[0]
            clause += 1
            if clause >= self.rng.randint(4, 9):
                word += self.rng.choice("，，。")
                clause = 0
            out.append(word)
            length += len(word)
        return "".join(out).rstrip("，") + "。"
