"""`python -m analysis.cli` is `privlab`."""

from analysis.cli import main

main()
