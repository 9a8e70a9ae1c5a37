"""`python -m pretrained.cli ...`: the same as the `pretrained` console script."""

import sys

from ._main import main

sys.exit(main())
