"""Send every upstream connection to a local server while keeping the original Host and SNI.

    mitmdump -s addons/upstream.py --set upstream_tls=127.0.0.1:8443 --set upstream_plain=127.0.0.1:8081

For lab runs on a machine where TikTok's host names do not resolve (or must not be contacted): the
connection's address is rewritten just before connecting and put back once connected, so the recorded
flow still names `log-va.tiktokv.com`, the client's SNI is kept, and mitmproxy can reuse connections
(it matches them by address; without the restore the 6th keep-alive request hangs).
"""

from __future__ import annotations

from mitmproxy import ctx
from mitmproxy import exceptions
from mitmproxy.proxy import server_hooks


def parse_target(spec: str) -> tuple[str, int] | None:
    """`host:port` -> (host, port); empty means no redirect. Raises ValueError on a bad spec."""
    if not spec:
        return None
    host, sep, port = spec.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port, got {spec!r}")
    return host, int(port)


class UpstreamRouter:
    def __init__(self) -> None:
        self.tls_target: tuple[str, int] | None = None
        self.plain_target: tuple[str, int] | None = None
        self._original: dict[str, tuple[str, int]] = {}

    def load(self, loader) -> None:  # type: ignore[no-untyped-def]
        loader.add_option(
            "upstream_tls", str, "", "host:port of the local server that answers TLS connections."
        )
        loader.add_option("upstream_plain", str, "", "host:port of the local server that answers plain HTTP.")

    def configure(self, updated: set[str]) -> None:
        try:
            if "upstream_tls" in updated:
                self.tls_target = parse_target(ctx.options.upstream_tls)
            if "upstream_plain" in updated:
                self.plain_target = parse_target(ctx.options.upstream_plain)
        except ValueError as e:
            raise exceptions.OptionsError(str(e)) from None

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        address = data.server.address
        if address is None:
            return
        # In eager mode TLS is not known yet at connect time: decide by the original port as well.
        is_tls = data.server.tls or address[1] == 443
        target = self.tls_target if is_tls else self.plain_target
        if target is not None:
            self._original[data.server.id] = (str(address[0]), int(address[1]))
            data.server.address = target

    def server_connected(self, data: server_hooks.ServerConnectionHookData) -> None:
        original = self._original.pop(data.server.id, None)
        if original is not None:
            # Server.__setattr__ refuses address changes on an open connection; restore it directly.
            data.server.__dict__["address"] = original

    def server_connect_error(self, data: server_hooks.ServerConnectionHookData) -> None:
        self._original.pop(data.server.id, None)


addons = [UpstreamRouter()]
