"""The experiment itself, in pure Python shared by every part: a sweep spec and the grid of
run settings it expands to (``sweep``), the prompt's ``{{variables}}`` and the table of
inputs that fills them (``variables``); how outputs are judged: checks with pass rates
(``checks``; ``regex_guard`` refuses exponential regexes), how different a row's outputs are
(``diversity``), both per grid row (``scoring``) and both counting words by one rule
(``words``); and what a run's tokens say: the probability of each token and its
alternatives as generated and stored (``token_log``), the first token where runs of one
grid part (``forks``), and the turn end a model wanted but was not allowed (``turn_end``).
Nothing here loads MLX or touches the run log.
"""
