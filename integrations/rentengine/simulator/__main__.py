"""`python -m integrations.rentengine.simulator --port 0 --size small ...`: the simulator without Django.

The management command `rentengine_simulator` takes the same options (its defaults come from the
Django settings); tests start this entry point because it skips Django's start-up.
"""

from __future__ import annotations

import argparse
import os
import sys

from .config import config_from_arguments, parser_add_arguments
from .server import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m integrations.rentengine.simulator", description=__doc__)
    env_token = os.environ.get("RENTENGINE_API_TOKEN")
    parser_add_arguments(
        parser, default_tokens=[env_token] if env_token else None, default_key=os.environ.get("RENTENGINE_WEBHOOK_API_KEY", "")
    )
    options = vars(parser.parse_args(argv))
    return serve(config_from_arguments(options))


if __name__ == "__main__":
    sys.exit(main())
