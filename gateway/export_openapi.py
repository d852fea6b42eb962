"""`python -m gateway.export_openapi FILE`: writes the OpenAPI document the gateway serves at
/openapi.json, for client generators that run before any gateway does (`make web` types the web
app's calls from it)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from common.settings import Settings
from gateway.openapi import complete, generated_document
from gateway.routes import routes_for
from gateway.server import PUBLIC_SERVICES


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    document = complete(
        generated_document(), routes_for(PUBLIC_SERVICES), Settings().public_media_base
    )
    Path(argv[0]).write_text(json.dumps(document, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
