"""``python -m xinpaint`` runs the command line."""

import sys

from xinpaint.cli import main

sys.exit(main())
