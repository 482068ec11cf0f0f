"""The product on a laptop: `python -m local_stack` (`make run`), or `local_stack.runner.LocalStack`.

See local_stack/README.md. Nothing heavy is imported here.
"""

from pathlib import Path

# Shared with `chatbot logs`, which finds a running stack's call-log table through this file.
DEFAULT_STATE_DIR = Path(".state")
ENDPOINTS_FILE = "endpoints.json"  # in the state dir: where a running stack listens
