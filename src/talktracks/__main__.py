"""`python -m talktracks` runs the CLI (same as the `talktracks` console script)."""

import sys

from talktracks.cli import main

sys.exit(main())
