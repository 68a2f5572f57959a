"""Local generation with MLX: the worker that runs jobs, the single and batch engines,
prefill, seeded sampling, memory checks, the BLAS fast path, row-invariant numerics, fused
CPU ops, and the one MLX thread.

Exports: ``worker.GenerationWorker``, ``mlx_thread.on_mlx_thread``/``compute_device``,
``fastpath.reexec_with_fast_blas``. Importing the package loads no MLX; its modules do.
"""
