"""`python -m chatgate` is the `chatgate` command."""

from chatgate.cli import main

main()
