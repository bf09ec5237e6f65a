"""Record every finished flow into a privlab session: `flows.mitm` and a custody record each.

    mitmdump -s addons/capture.py --set privlab_session=captures/<id>

HTTP/1.1, HTTP/2 and WebSocket flows are written when they end (response, error, websocket_end); flows
still open at shutdown (half-finished) are written in `done`. Every flow is stamped with the session id
and the current phase mark before it is written, so the `.mitm` file carries them too.

A write that fails stops the proxy at once: traffic is never let through unrecorded. The
analysis-ready index (`flows.jsonl`) is built after the proxy stops (`analysis/capture/flowindex.py`),
so the proxy spends on each flow no more than mitmproxy's own `-w` does, plus one custody record.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from mitmproxy import ctx
from mitmproxy import exceptions
from mitmproxy import http
from mitmproxy.io import tnetstring

from analysis.capture.addon_options import SESSION_OPTION
from analysis.capture.addon_options import declare_session_option
from analysis.errors import PrivlabError
from analysis.session import FLOWS_MITM
from analysis.session import SESSION_JSON
from analysis.session import Session

# Exit status when evidence cannot be written (EX_IOERR).
EXIT_WRITE_FAILED = 74


class Capture:
    def __init__(self) -> None:
        self.session: Session | None = None
        self.active: dict[str, http.HTTPFlow] = {}
        self.written = 0
        self._meta_mtime = 0.0

    def load(self, loader) -> None:  # type: ignore[no-untyped-def]
        declare_session_option(loader)

    def configure(self, updated: set[str]) -> None:
        if SESSION_OPTION in updated and getattr(ctx.options, SESSION_OPTION):
            try:
                self.session = Session.open(Path(getattr(ctx.options, SESSION_OPTION)))
            except PrivlabError as e:
                raise exceptions.OptionsError(str(e)) from None
            if self.session.status != "open":
                raise exceptions.OptionsError(
                    f"{self.session.path}: session is {self.session.status}, not open"
                )

    def _phase(self) -> str | None:
        """The latest phase mark; `privlab mark` rewrites session.json from another process."""
        assert self.session is not None
        try:
            mtime = (self.session.path / SESSION_JSON).stat().st_mtime
        except OSError:
            return self.session.current_phase()
        if mtime != self._meta_mtime:
            self._meta_mtime = mtime
            try:
                self.session.reload()
            except PrivlabError as e:
                # Keep the last good marks (session.json is replaced atomically, so this is rare).
                logging.warning("privlab: phase marks not re-read: %s", e)
        return self.session.current_phase()

    def request(self, flow: http.HTTPFlow) -> None:
        if self.session is None:
            return
        flow.metadata["privlab.session"] = self.session.id
        flow.metadata["privlab.phase"] = self._phase()
        self.active[flow.id] = flow

    def response(self, flow: http.HTTPFlow) -> None:
        if flow.websocket is None:  # WebSocket flows are written when they end
            self.save(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self.save(flow)

    def websocket_end(self, flow: http.HTTPFlow) -> None:
        self.save(flow)

    def done(self) -> None:
        for flow in list(self.active.values()):
            flow.metadata["privlab.half_finished"] = True
            self.save(flow)

    def save(self, flow: http.HTTPFlow) -> None:
        """Append the flow to flows.mitm with its custody record, or stop the proxy."""
        if self.session is None or flow.id not in self.active:
            return
        try:
            self.session.append(FLOWS_MITM, tnetstring.dumps(flow.get_state()), kind="flow", ref=flow.id)
        except OSError as e:
            # Crash visibly instead of letting traffic through unrecorded (as mitmproxy's own Save does).
            sys.stderr.write(
                f"privlab capture: cannot write evidence to {self.session.path}: {e}; stopping proxy\n"
            )
            sys.stderr.flush()
            os._exit(EXIT_WRITE_FAILED)
        del self.active[flow.id]
        self.written += 1
        logging.debug("privlab: recorded flow %s (%d)", flow.id, self.written)


addons = [Capture()]
