"""OpenAI-compatible servers as model specs: ``config`` (specs and remotes.json),
``runner.RemoteRunner`` (a sweep's cells as concurrent requests), ``stream`` (one cell),
``logprobs`` (the token log a server streams back).

It imports no MLX: a sweep on a remote model never loads it.
"""
