"""An "app" that pins through BoringSSL's custom-verify callback (with the stand-in library).

    python pinned_app.py <libttboringssl.so> <our-ca.der> <other-ca.der> <out.json>

Installs a pinning callback that rejects everything (as a pinned app rejects a proxy's certificate),
then runs two handshakes: one whose chain ends in our CA, one whose chain ends in another CA.
Writes {"ours": result, "other": result, "app_callback_calls": n} to <out.json>.
"""

from __future__ import annotations

import ctypes
import json
import sys

lib = ctypes.CDLL(sys.argv[1])
ours, other = open(sys.argv[2], "rb").read(), open(sys.argv[3], "rb").read()
calls: list[int] = []

VERIFY = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)


@VERIFY
def pinning(ssl: int, alert: int) -> int:
    calls.append(ssl)
    return 1  # ssl_verify_invalid: the pin does not match


lib.SSL_CTX_set_custom_verify(None, 1, pinning)


def handshake(ca: bytes) -> int:
    leaf = b"leaf-certificate-der"
    certs = (ctypes.c_char_p * 2)(leaf, ca)
    lens = (ctypes.c_size_t * 2)(len(leaf), len(ca))
    lib.standin_set_chain(certs, lens, 2)
    return int(lib.standin_handshake(ctypes.c_void_p(0x1234)))


result = {"ours": handshake(ours), "other": handshake(other)}
result["app_callback_calls"] = len(calls)
open(sys.argv[4], "w").write(json.dumps(result))
