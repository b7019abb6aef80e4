"""`python -m conformance.mock`: the same as `conformance mock`."""

import sys

from conformance.mock.cli import main

sys.exit(main())
