"""The product on a laptop: `python -m local_stack` (`make run`), or `local_stack.runner.LocalStack`.

See local_stack/README.md. Nothing heavy is imported here.
"""
