"""Recall on a public, labelled PII-leak dataset: fukuda-lab/PII_leakage (CoNEXT 2021, Dao & Fukuda).

`pii_leakage_202105.csv` lists 1,522 real requests from 130 shopping sites to third parties that carried
the researchers' test account's e-mail address (labelled with its encoding form: plaintext, md5, sha256,
base64, chains of them, and where it travelled: uri, payload, referer, cookie). The repository has no
licence, so the file is not copied into tests/data: fetch it and pass its path.

Each row becomes a request (URL, Referer and Cookie headers, payload body); the canary is the account's
e-mail address, which the plaintext rows show. A row is found when privlab reports that canary in it.
Printed: recall per encoding form and leakage method, what a naive matcher finds (tests/naive_oracle.py),
and the pattern detections (e-mail pattern precision: hits that are the account's address).

Run: `python benchmarks/leak_dataset.py PATH/pii_leakage_202105.csv`.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from naive_oracle import oracle_finds  # noqa: E402

from analysis.detect.detector import Detector  # noqa: E402
from analysis.schema import Canary  # noqa: E402
from analysis.schema import FlowRecord  # noqa: E402

ACCOUNT_EMAIL = "sonoroustada@protonmail.com"  # the address the dataset's plaintext rows carry


def record(n: int, row: dict[str, str]) -> FlowRecord:
    """One dataset row as a request (the CSV doubles every `%`)."""
    url = row["url"].replace("%%", "%")
    parts = urlsplit(url)
    headers = []
    if row["referer"] and row["referer"] != "null":
        headers.append(("Referer", row["referer"].replace("%%", "%")))
    if row["cookie"] and row["cookie"] != "null":
        headers.append(("Cookie", row["cookie"].replace("%%", "%")))
    body = b""
    if row["payload_body"] and row["payload_body"] != "null":
        body = row["payload_body"].replace("%%", "%").encode("utf-8", "surrogateescape")
    return FlowRecord(
        f"row-{n}", float(n), None, "", None, None, None, parts.hostname or "", parts.scheme or "https",
        "HTTP/1.1", row["http_method"], url, parts.path, parts.query, 200, headers, [], len(body), 0, None,
        None, request_body=body,
    )  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("csv", type=Path)
    args = ap.parse_args()
    rows = list(csv.DictReader(args.csv.open(newline="", encoding="utf-8")))
    canaries = [Canary("email", "email", ACCOUNT_EMAIL)]
    detector = Detector(canaries)
    by_form: dict[str, Counter[str]] = defaultdict(Counter)
    by_method: dict[str, Counter[str]] = defaultdict(Counter)
    total: Counter[str] = Counter()
    patterns: Counter[str] = Counter()
    email_patterns = email_patterns_account = 0
    for n, row in enumerate(rows):
        if "email" not in row["pii_type"]:
            continue
        rec = record(n, row)
        dets = detector.flow(rec).detections
        found = any(d.canary_id == "email" for d in dets)
        oracle = "email" in oracle_finds(rec, canaries)
        for c in (by_form[row["encoding_form"]], by_method[row["leakage_method"]], total):
            c["rows"] += 1
            c["found"] += found
            c["oracle"] += oracle
            c["oracle_not_privlab"] += oracle and not found
        for d in dets:
            if d.method == "pattern":
                patterns[d.data_type] += 1
                if d.data_type == "email":
                    email_patterns += 1
                    email_patterns_account += ACCOUNT_EMAIL in d.excerpt.lower()
    print(f"rows with the e-mail: {total['rows']}; privlab found {total['found']} "
          f"(recall {total['found'] / total['rows']:.3f}); naive matcher {total['oracle']}; "
          f"naive-only {total['oracle_not_privlab']}")  # fmt: skip
    for name, table in (("encoding form", by_form), ("leakage method", by_method)):
        for key, c in sorted(table.items(), key=lambda kv: -kv[1]["rows"]):
            print(f"  {name:14s} {key:22s} {c['found']:5d}/{c['rows']:<5d} naive {c['oracle']:5d}")
    print(f"pattern detections: {dict(patterns)}")
    if email_patterns:
        print(
            f"e-mail pattern precision: {email_patterns_account}/{email_patterns} are the account's address"
        )


if __name__ == "__main__":
    main()
