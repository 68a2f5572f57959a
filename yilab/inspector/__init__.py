"""The tokenizer inspector: pure diagnosis of a model folder's special tokens, chat template
and stop set (``diagnose.inspect_model``), the fix plan, applying it with backup and undo
(``fix``), the token view of a text, and the verdict in plain words (``wording``).
"""
