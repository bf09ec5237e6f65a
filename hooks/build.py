"""Build the Frida agent bundle `hooks/_agent.js` from `hooks/src/` (type-checked), or check it.

    .venv/bin/python hooks/build.py            # write hooks/_agent.js
    .venv/bin/python hooks/build.py --check    # exit 1 unless the committed bundle is what the source builds

Uses frida-tools' compiler through `frida.Compiler` (npm's frida-compile cannot install offline); the
only npm need is `npm ci` here for frida-java-bridge. The bundle is committed so that a user without
Node.js can run captures; `--check` (run by the tests) proves the committed file matches the source.
Output is unminified and has no source map, so it is byte-identical wherever it is built and can be
read by anyone reviewing what was injected into the app.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import Any

HOOKS = Path(__file__).resolve().parent
ENTRY = "src/index.ts"
BUNDLE = HOOKS / "_agent.js"


class BuildError(Exception):
    """The agent did not compile (type errors, or node_modules missing: run `npm ci` in hooks/)."""


def build(root: Path = HOOKS) -> str:
    """Compile `<root>/src/index.ts` with type checking and return the bundle text."""
    import frida

    if not (root / "node_modules" / "frida-java-bridge").is_dir():
        raise BuildError(
            f"{root / 'node_modules'}: frida-java-bridge is not installed; run `npm ci` in {root}"
        )
    diagnostics: list[str] = []

    def on_diagnostics(items: list[Any]) -> None:
        for d in items:
            where = d.get("file") or {}
            place = f"{where.get('path', '?')}:{where.get('line', 0) + 1}"
            diagnostics.append(f"{place}: {d.get('text', d)}")

    compiler = frida.Compiler()
    compiler.on("diagnostics", on_diagnostics)
    try:
        bundle = compiler.build(
            ENTRY,
            project_root=str(root),
            source_maps="omitted",
            compression="none",
            type_check="full",
        )
    except frida.InvalidArgumentError as e:
        raise BuildError("; ".join(diagnostics) or str(e)) from None
    if diagnostics:
        raise BuildError("; ".join(diagnostics))
    return bundle


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with the committed _agent.js, write nothing"
    )
    args = parser.parse_args(argv)
    try:
        bundle = build()
    except BuildError as e:
        print(f"hooks/build.py: {e}", file=sys.stderr)
        return 2
    if args.check:
        committed = BUNDLE.read_text(encoding="utf-8") if BUNDLE.exists() else ""
        if committed != bundle:
            print(
                f"{BUNDLE}: differs from what hooks/src builds (sha256 {sha256(committed)[:12]} != "
                f"{sha256(bundle)[:12]}); run `.venv/bin/python hooks/build.py` and commit it",
                file=sys.stderr,
            )
            return 1
        print(f"{BUNDLE}: matches the source (sha256 {sha256(bundle)})")
        return 0
    BUNDLE.write_text(bundle, encoding="utf-8", newline="\n")
    print(f"{BUNDLE}: {len(bundle.encode())} bytes, sha256 {sha256(bundle)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
