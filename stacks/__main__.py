"""`python -m stacks …` is kept as an alias of `python -m tools …` for scripts written against it.

Pulumi never runs this module (it imports the `stacks` package through the project's __main__.py),
so the deployable program still does not depend on the developer tooling.
"""

import sys

from tools.cli import main

sys.exit(main())
