"""Options that several verbs take with one meaning: declared once, so their help and types agree."""

from __future__ import annotations

from pathlib import Path

import click

registry_option = click.option(
    "--registry",
    "registry_files",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Extra entity data: a registry .toml, an Exodus / X-Ray / Disconnect / DuckDuckGo list, or a "
    "Tracker Radar directory (repeatable).",
)
first_party_option = click.option(
    "--first-party",
    "first_party",
    multiple=True,
    metavar="DOMAIN",
    help="A domain of the app's own (repeat for several); its hosts are first party. Default: "
    "session.json, the APK, the package name.",
)
owner_option = click.option("--owner", default=None, metavar="COMPANY", help="The company that owns the app.")
