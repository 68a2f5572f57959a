import os

from yilab.generation.fastpath import reexec_with_fast_blas

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # no tokenizer-length chatter

reexec_with_fast_blas()  # before MLX is imported: see yilab/generation/fastpath.py

from yilab.cli.main import main  # noqa: E402
from yilab.runlog.store import exit_cleanly_on_sigterm  # noqa: E402

exit_cleanly_on_sigterm()  # so `kill` leaves the run log's file complete
raise SystemExit(main())
