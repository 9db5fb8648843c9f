"""`python -m arrears.entrypoints.cli` runs the `arrears` command."""

from arrears.entrypoints.cli import main

main()
