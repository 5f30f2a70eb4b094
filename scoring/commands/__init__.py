"""The commands layer: one module per ``scoring`` subcommand, the impure glue between the command line
(:mod:`scoring.cli`: parsing, exit codes, error printing) and the library (reading, scoring, writing).

Each module's ``cmd(args)`` takes the parsed arguments and returns the exit status; user mistakes raise
:class:`scoring.errors.ScoringError` subclasses, which the CLI prints without a traceback.
"""
