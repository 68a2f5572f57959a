from yilab.cli import main

raise SystemExit(main())
