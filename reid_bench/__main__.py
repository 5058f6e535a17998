import sys

from reid_bench.cli import main

sys.exit(main())
