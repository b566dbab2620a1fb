"""`python -m ensemble.cli`: the same entry point as the `ensemble-fit` command."""
import sys

from ensemble.cli import main

sys.exit(main())
