"""Record TLS handshakes that failed (pinned clients refusing our CA): a gap in the evidence is a finding.

    mitmdump -s addons/tlsfailures.py --set privlab_session=captures/<id>

Each failure is one line of `tls_failures.jsonl`, `{t, side, client, server, sni, error}`, with a custody record.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from mitmproxy import ctx
from mitmproxy import tls

from analysis.capture.addon_options import SESSION_OPTION
from analysis.capture.addon_options import declare_session_option
from analysis.session import TLS_FAILURES_JSONL
from analysis.session import Session
from analysis.session.flows import display_text


def _peer(address: object) -> str | None:
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return None


def failure_record(data: tls.TlsData, side: str) -> dict[str, object]:
    """The JSON record of one failed handshake."""
    conn = data.conn
    return {
        "t": time.time(),
        "side": side,
        "client": _peer(data.context.client.peername),
        "server": _peer(data.context.server.address),
        # The client chose these bytes: their lossless text form, so no later writer chokes on them.
        "sni": display_text(conn.sni) if conn.sni is not None else None,
        "error": display_text(conn.error) if conn.error is not None else None,
    }


class TlsFailures:
    def __init__(self) -> None:
        self.session: Session | None = None

    def load(self, loader) -> None:  # type: ignore[no-untyped-def]
        declare_session_option(loader)

    def configure(self, updated: set[str]) -> None:
        if SESSION_OPTION in updated and getattr(ctx.options, SESSION_OPTION):
            self.session = Session.open(Path(getattr(ctx.options, SESSION_OPTION)))

    def _write(self, record: dict[str, object]) -> None:
        if self.session is None:
            return
        line = json.dumps(record, sort_keys=True).encode() + b"\n"
        self.session.append(TLS_FAILURES_JSONL, line, kind="tls-failure", ref=str(record.get("sni")))

    def tls_failed_client(self, data: tls.TlsData) -> None:
        self._write(failure_record(data, "client"))

    def tls_failed_server(self, data: tls.TlsData) -> None:
        self._write(failure_record(data, "server"))


addons = [TlsFailures()]
