"""`python -m tools …`: the developer command line (tools/cli.py)."""

import sys

from tools.cli import main
from tools.engine import tune_garbage_collector

tune_garbage_collector()
sys.exit(main())
