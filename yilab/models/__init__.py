"""Model specs to local mlx-lm folders: the default model, folders, GGUF files (converted
once), Ollama's store, Hugging Face downloads, and the list of what is on this machine.

Exports: ``resolve.resolve_model``/``ResolvedModel``, ``listing.list_models``,
``cache.DEFAULT_MODEL``; GGUF reading and conversion live in ``models.gguf``.
"""
