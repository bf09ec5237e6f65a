"""Registrable domains from the packaged Public Suffix List (offline, dated)."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.attribute.domains import DomainNamer
from analysis.attribute.domains import psl_info
from analysis.attribute.domains import registrable_domain
from analysis.errors import PrivlabError


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("log-va.tiktokv.com", "tiktokv.com"),
        ("api16-normal-c-useast1a.tiktokv.com", "tiktokv.com"),
        ("LOG-VA.TikTokV.com.", "tiktokv.com"),
        ("www.bbc.co.uk", "bbc.co.uk"),
        ("mymuse.com.cn", "mymuse.com.cn"),
        ("d1234abcd.cloudfront.net", "d1234abcd.cloudfront.net"),  # private-section suffix: per customer
        ("foo.s3.amazonaws.com", "foo.s3.amazonaws.com"),
        ("tiktokv.com", "tiktokv.com"),
        ("com", None),
        ("co.uk", None),
        ("localhost", None),
        ("printer.internal", None),  # unknown TLD: no registrable domain, never a guess
        ("127.0.0.1", None),
        ("::1", None),
        ("[2001:db8::1]", None),
        ("", None),
    ],
)
def test_registrable_domain(host: str, expected: str | None) -> None:
    assert registrable_domain(host) == expected


def test_list_is_named_and_dated() -> None:
    info = psl_info()
    assert info.version and info.date.count("-") == 2 and info.date >= "2024-01-01"
    assert len(info.sha256) == 64
    assert info.version in info.label() and info.sha256[:16] in info.label()


def test_user_supplied_list(tmp_path: Path) -> None:
    psl = tmp_path / "psl.dat"
    psl.write_text(
        "// VERSION: 2099-01-01_00-00-00_UTC\n// COMMIT: abc\n// ===BEGIN ICANN DOMAINS===\ncom\n"
        "// ===END ICANN DOMAINS===\n// ===BEGIN PRIVATE DOMAINS===\ntiktokv.com\n// ===END PRIVATE DOMAINS===\n"
    )
    namer = DomainNamer(psl)
    assert namer.info.date == "2099-01-01" and namer.info.commit == "abc"
    # With tiktokv.com declared a public suffix in this list, each subdomain is its own registrable domain.
    assert namer.registrable("a.log-va.tiktokv.com") == "log-va.tiktokv.com"
    assert namer.public_suffix("x.example.com") == "com"


def test_bad_list_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "not-psl.txt"
    bad.write_text("hello\nworld\n")
    with pytest.raises(PrivlabError, match="not-psl.txt: not a Public Suffix List"):
        DomainNamer(bad)
    with pytest.raises(PrivlabError, match="cannot read"):
        DomainNamer(tmp_path / "missing.dat")
