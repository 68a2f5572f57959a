import os

from yilab.generation.fastpath import reexec_with_fast_blas

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # no tokenizer-length chatter

reexec_with_fast_blas()  # before MLX is imported: see yilab/generation/fastpath.py

from yilab.cli.main import main  # noqa: E402

raise SystemExit(main())
