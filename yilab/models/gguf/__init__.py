"""GGUF files: read the header and metadata (``reader``), build the tokenizer
(``tokenizer``) and convert the whole file into an mlx-lm folder (``convert.convert_gguf``).
"""
