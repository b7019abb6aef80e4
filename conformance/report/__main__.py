"""`python -m conformance.report`: the same as `conformance report`."""

import sys

from .cli import main

sys.exit(main())
