"""Jurisdiction of a country under EU data-protection law: EEA, adequacy, or third country.

The data (`analysis/data/jurisdiction.toml`) is dated (`as_of`) and every answer carries the decision
it rests on. The US adequacy decision covers only organisations certified under the EU-US Data Privacy
Framework: for a US recipient the answer is "adequacy" only when certification is asserted by the
caller, and "third-country" (with a note saying why) otherwise.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from analysis.errors import PrivlabError

DATA = Path(__file__).resolve().parent / "data" / "jurisdiction.toml"

EEA = "EEA"
ADEQUACY = "adequacy"
THIRD_COUNTRY = "third-country"
UNKNOWN = "unknown"
# Worst first: when a destination has several countries, the least protected one names it.
_RANK = {THIRD_COUNTRY: 0, UNKNOWN: 1, ADEQUACY: 2, EEA: 3}


@dataclass(frozen=True)
class Adequacy:
    """One adequacy decision."""

    country: str
    name: str
    decision: str
    date: str
    scope: str  # full | partial | certified-organisations
    note: str = ""


@dataclass(frozen=True)
class Jurisdiction:
    """The status of one country (or of a destination's set of countries) with its basis."""

    status: str  # EEA | adequacy | third-country | unknown
    country: str
    basis: str  # e.g. "EEA member" or the adequacy decision
    note: str = ""


@dataclass(frozen=True)
class JurisdictionData:
    """The dated lists: EEA members and adequacy decisions."""

    as_of: str
    eea: frozenset[str]
    adequacy: dict[str, Adequacy]
    sources: tuple[str, ...]
    path: str

    def classify(self, country: str | None, certified: bool | None = None) -> Jurisdiction:
        """Status of an ISO country code. `certified`: is the recipient certified (US DPF)? None = not known.

        Anything that is not a two-letter code ("loopback", "private", "unknown", None) is "unknown".
        """
        cc = (country or "").upper()
        if len(cc) != 2 or not cc.isalpha():
            return Jurisdiction(UNKNOWN, country or "", "no public server country", "")
        if cc in self.eea:
            return Jurisdiction(EEA, cc, "EEA member", "")
        dec = self.adequacy.get(cc)
        if dec is None:
            return Jurisdiction(THIRD_COUNTRY, cc, "no adequacy decision", "")
        basis = f"{dec.decision} ({dec.date})"
        if dec.scope == "certified-organisations":
            if certified:
                return Jurisdiction(ADEQUACY, cc, basis, "recipient certified: " + dec.note)
            why = (
                "recipient not certified"
                if certified is False
                else "recipient's certification not established"
            )
            return Jurisdiction(THIRD_COUNTRY, cc, basis, f"{why}; {dec.note}")
        return Jurisdiction(ADEQUACY, cc, basis, dec.note)

    def combine(self, countries: Iterable[str | None], certified: bool | None = None) -> Jurisdiction:
        """The least protected status among several countries (e.g. all IPs a host resolved to)."""
        results = [self.classify(c, certified) for c in countries]
        known = [r for r in results if r.status != UNKNOWN]
        if not known:
            return Jurisdiction(UNKNOWN, "", "no public server country", "")
        return min(known, key=lambda r: _RANK[r.status])

    def label(self) -> str:
        """One line naming the data and its date."""
        return f"EEA list and EU adequacy decisions as of {self.as_of} ({Path(self.path).name})"


def load_jurisdiction(path: Path | None = None) -> JurisdictionData:
    """Read the jurisdiction data (the packaged file by default)."""
    p = path or DATA
    try:
        d = tomllib.loads(p.read_text(encoding="utf-8"))
        adequacy = {
            cc.upper(): Adequacy(
                country=cc.upper(),
                name=a["name"],
                decision=a["decision"],
                date=a["date"],
                scope=a["scope"],
                note=a.get("note", ""),
            )
            for cc, a in d["adequacy"].items()
        }
        eea = frozenset(c.upper() for c in [*d["eea"]["eu"], *d["eea"]["efta"]])
        return JurisdictionData(str(d["as_of"]), eea, adequacy, tuple(d.get("sources", [])), str(p))
    except OSError as e:
        raise PrivlabError(f"{p}: cannot read jurisdiction data ({e.strerror or e})") from None
    except (tomllib.TOMLDecodeError, KeyError, TypeError, AttributeError) as e:
        raise PrivlabError(f"{p}: malformed jurisdiction data ({type(e).__name__}: {e})") from None


@functools.lru_cache(maxsize=1)
def default_jurisdiction() -> JurisdictionData:
    """The packaged data, loaded once."""
    return load_jurisdiction()
