"""The legal provisions a finding may engage, phrased as support for an expert, not a conclusion."""

from __future__ import annotations

from analysis.attribute.geo import SCOPE_PLACE
from analysis.findings.model import Finding
from analysis.findings.model import Provision
from analysis.findings.phases import PHASE_AFTER
from analysis.findings.phases import PHASE_BEFORE
from analysis.findings.phases import PHASE_REFUSED
from analysis.findings.phases import PHASE_WITHDRAWN

EPRIVACY_5_3 = Provision(
    "ePrivacy Directive 2002/58/EC",
    "Art. 5(3)",
    "Information stored on the terminal equipment was accessed. Such access generally requires the "
    "user's prior consent unless it is strictly necessary for the service the user requested; whether "
    "an exemption applies is for the expert and the court to assess.",
)


def provisions_for(finding: Finding, child_session: bool) -> list[Provision]:
    """The provisions a finding may engage: pointers for an expert, not legal conclusions."""
    out: list[Provision] = []
    if finding.kind == "access" or finding.access:
        out.append(EPRIVACY_5_3)
    if finding.kind == "transmission":
        when = {
            PHASE_BEFORE: "before any consent was recorded in this session",
            PHASE_AFTER: "after consent was recorded",
            PHASE_REFUSED: "after consent was refused",
            PHASE_WITHDRAWN: "after consent was withdrawn",
        }.get(finding.phase, finding.phase)
        party = {"third": "a third party", "first": "the app's own operator"}.get(
            finding.party, "a recipient whose relation to the app is not established"
        )
        out.append(
            Provision(
                "GDPR (EU) 2016/679",
                "Art. 6",
                f"Data that may relate to an identifiable person was sent to {party} {when}. "
                "Processing needs a lawful basis; the expert may weigh whether one applied.",
            )
        )
        if child_session:
            out.append(
                Provision(
                    "GDPR (EU) 2016/679",
                    "Art. 8",
                    "The session was marked as using a child's account. Where consent is the basis for an "
                    "information society service offered to a child, Art. 8 sets conditions on it.",
                )
            )
        # A server on this host or a private network (a lab upstream) shows no transfer to any country.
        if finding.jurisdiction in ("third-country", "unknown") and finding.country not in SCOPE_PLACE:
            where = (
                f"a server located in {finding.country}"
                if finding.country != "unknown"
                else "a server whose location could not be established"
            )
            out.append(
                Provision(
                    "GDPR (EU) 2016/679",
                    "Art. 44-49",
                    f"Data was sent to {where} (jurisdiction: {finding.jurisdiction}). A transfer to a "
                    "third country needs an adequacy decision, appropriate safeguards or a derogation.",
                )
            )
    return out
