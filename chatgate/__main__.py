"""`python -m chatgate` is the `chatgate` command."""

import sys

from chatgate.cli import main

sys.exit(main())
