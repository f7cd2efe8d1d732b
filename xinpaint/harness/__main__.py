"""``python -m xinpaint.harness``."""

import sys

from xinpaint.harness.cli import main

sys.exit(main())
