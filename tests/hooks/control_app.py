"""Control app for the Frida tests: a Python process that does what an app does on the network.

    python control_app.py --proxy 127.0.0.1:8080 --proxy-ca ca.pem --target localhost:8443 \
        --server-ca server.pem --body '{"email": "canary@example.org"}'

1. POSTs `--body` to https://<target>/collect through the HTTP proxy (CONNECT tunnel), trusting
   `--proxy-ca` (mitmproxy's CA), so the proxy records the same request the agent sees;
2. POSTs it again directly to `--target` (resolving its name with getaddrinfo), trusting `--server-ca`.
OpenSSL 3 underneath: the writes arrive as SSL_write_ex. Prints one status line per request.
"""

from __future__ import annotations

import argparse
import http.client
import ssl


def post(conn: http.client.HTTPSConnection, body: bytes) -> int:
    conn.request("POST", "/collect", body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp.status


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--proxy", required=True)
    parser.add_argument("--proxy-ca", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--server-ca", required=True)
    parser.add_argument("--body", required=True)
    args = parser.parse_args()
    body = args.body.encode()
    host, port = args.target.rsplit(":", 1)
    phost, pport = args.proxy.rsplit(":", 1)

    via_proxy = http.client.HTTPSConnection(
        phost, int(pport), context=ssl.create_default_context(cafile=args.proxy_ca)
    )
    via_proxy.set_tunnel(host, int(port))
    print("proxied", post(via_proxy, body), flush=True)

    direct = http.client.HTTPSConnection(
        host, int(port), context=ssl.create_default_context(cafile=args.server_ca)
    )
    print("direct", post(direct, body), flush=True)


if __name__ == "__main__":
    main()
