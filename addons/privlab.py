"""privlab's capture addons as one script: what `privlab capture` loads.

    mitmdump -s addons/privlab.py --set privlab_session=captures/<id> [--set upstream_tls=HOST:PORT ...]

Each concern stays in its own module (and each module still runs alone with `-s`); loading them through
one script matters for speed: mitmproxy offers every event to every script and addon, so each extra
script wrapper costs on every event of every flow.
"""

from __future__ import annotations

from capture import Capture  # the script's folder is on sys.path while mitmproxy loads it
from tlsfailures import TlsFailures
from upstream import UpstreamRouter

addons = [Capture(), TlsFailures(), UpstreamRouter()]
