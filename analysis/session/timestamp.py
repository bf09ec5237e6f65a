"""RFC 3161 time-stamping of a seal: proof from a time-stamping authority (TSA) that the seal existed then.

An unsigned or self-signed seal shows the session is unchanged since sealing, not *when* it was sealed: its
times are the operator's own clock. A TSA countersigns the seal hash with its clock and key. `privlab
timestamp SESSION --tsa URL` sends a TimeStampReq (RFC 3161 §2.4.1: the seal's sha256 as message imprint, a
random nonce, certReq so the TSA's certificate comes back in the token) as `application/timestamp-query`,
checks the reply (granted, the same imprint and nonce, and, with `--tsa-cert`, the signature) and stores the
TimeStampResp as `seal.tsr` beside the seal. No sealed file changes: `seal.tsr`, like `seal.json`, is not in
the seal's file list, and `verify` checks it on its own (imprint == seal hash, signature to the given TSA
certificate or CA). The token can be checked without privlab too:

    openssl ts -verify -digest <seal sha256> -in seal.tsr -CAfile tsa-ca.pem

Offline, or when no TSA is configured, nothing is sent and the report says "no timestamp (option off)".
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from pathlib import Path
from typing import Any

from asn1crypto import algos
from asn1crypto import cms
from asn1crypto import tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from analysis.errors import PrivlabError
from analysis.errors import require_file
from analysis.session.seal import SEAL_TSR

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
_MAX_REPLY = 1 << 20  # a TimeStampResp is a few kB; more is not a TSA's answer
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
    "sha1": hashes.SHA1,
}


@dataclass
class Token:
    """What a stored timestamp says: who, when, over which hash."""

    tsa: str  # the TSA's name (from the token, else its signing certificate's subject)
    gen_time: datetime
    imprint: str  # hex of the hashed message: the seal sha256 it timestamps
    hash_algorithm: str
    serial: int
    policy: str
    nonce: int | None


@dataclass
class TimestampCheck:
    """`verify`'s view of seal.tsr: problems (the session does not verify) and notices."""

    token: Token | None = None
    problems: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def timestamp_query(digest: bytes, nonce: int) -> bytes:
    """A DER TimeStampReq over a sha256 `digest`, with `nonce`, asking for the TSA's certificate."""
    return tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": tsp.MessageImprint(
                {"hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}), "hashed_message": digest}
            ),
            "nonce": nonce,
            "cert_req": True,
        }
    ).dump()


def _signed_data(resp: tsp.TimeStampResp) -> cms.SignedData:
    token = resp["time_stamp_token"]
    if token.native is None or token["content_type"].native != "signed_data":
        raise ValueError("the reply holds no signed timestamp token")
    return token["content"]


def _tst_info(sd: cms.SignedData) -> tsp.TSTInfo:
    encap = sd["encap_content_info"]
    if encap["content_type"].native != "tst_info":
        raise ValueError(f"the token's content is {encap['content_type'].native}, not a TSTInfo")
    return encap["content"].parsed


def _certificates(sd: cms.SignedData) -> list[x509.Certificate]:
    out = []
    for choice in sd["certificates"] or []:
        if choice.name == "certificate":
            out.append(x509.load_der_x509_certificate(choice.chosen.dump()))
    return out


def _signer_certificate(si: cms.SignerInfo, certs: list[x509.Certificate]) -> x509.Certificate | None:
    sid = si["sid"]
    for cert in certs:
        if sid.name == "issuer_and_serial_number":
            if (
                sid.chosen["serial_number"].native == cert.serial_number
                and sid.chosen["issuer"].dump() == cert.issuer.public_bytes()
            ):
                return cert
        else:
            try:
                ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
            except x509.ExtensionNotFound:
                continue
            if sid.chosen.native == ski:
                return cert
    return None


def _tsa_name(tst: tsp.TSTInfo, signer: x509.Certificate | None) -> str:
    name = tst["tsa"]
    if name.native is not None:
        chosen = name.chosen
        return str(chosen.human_friendly if hasattr(chosen, "human_friendly") else chosen.native)
    return signer.subject.rfc4514_string() if signer is not None else "an unnamed TSA"


def read_token(der: bytes) -> tuple[Token, tsp.TimeStampResp]:
    """The facts of a stored TimeStampResp (ValueError when it is not one)."""
    try:
        resp = tsp.TimeStampResp.load(der)
        status = resp["status"]["status"].native
        if status not in ("granted", "granted_with_mods"):
            text = resp["status"]["status_string"].native
            raise ValueError(
                f"the TSA did not grant the timestamp ({status}{': ' + str(text) if text else ''})"
            )
        sd = _signed_data(resp)
        tst = _tst_info(sd)
        signer = _signer_certificate(sd["signer_infos"][0], _certificates(sd))
        token = Token(
            tsa=_tsa_name(tst, signer),
            gen_time=tst["gen_time"].native,
            imprint=tst["message_imprint"]["hashed_message"].native.hex(),
            hash_algorithm=str(tst["message_imprint"]["hash_algorithm"]["algorithm"].native),
            serial=int(tst["serial_number"].native),
            policy=str(tst["policy"].native),
            nonce=tst["nonce"].native,
        )
    except (ValueError, TypeError, KeyError, IndexError) as e:
        raise ValueError(f"not an RFC 3161 timestamp reply ({e})") from None
    return token, resp


def _verify_signed_by(cert: x509.Certificate, si: cms.SignerInfo, econtent: bytes) -> None:
    """The signer info's signature is `cert`'s over the signed attributes, and they hold `econtent`'s hash."""
    digest_name = si["digest_algorithm"]["algorithm"].native
    if digest_name not in _HASHES:
        raise ValueError(f"unsupported digest algorithm {digest_name}")
    algorithm = _HASHES[digest_name]()
    attrs = si["signed_attrs"]
    if not attrs:
        raise ValueError("the token has no signed attributes")
    digests = [a["values"][0].native for a in attrs if a["type"].native == "message_digest"]
    h = hashes.Hash(_HASHES[digest_name]())
    h.update(econtent)
    if digests != [h.finalize()]:
        raise ValueError("the token's message-digest attribute is not the hash of its TSTInfo")
    # The signature is over the attributes DER-encoded as a SET (tag 0x31), not their [0] IMPLICIT form.
    signed = b"\x31" + attrs.dump()[1:]
    signature = si["signature"].native
    key = cert.public_key()
    sig_alg = si["signature_algorithm"]["algorithm"].native
    try:
        if isinstance(key, rsa.RSAPublicKey):
            pad: padding.AsymmetricPadding = padding.PKCS1v15()
            if sig_alg == "rsassa_pss":
                params = si["signature_algorithm"]["parameters"]
                pss_hash = _HASHES[params["hash_algorithm"]["algorithm"].native]()
                pad = padding.PSS(padding.MGF1(pss_hash), params["salt_length"].native)
                algorithm = pss_hash
            key.verify(signature, signed, pad, algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed, ec.ECDSA(algorithm))
        else:
            raise ValueError(f"unsupported TSA key type {type(key).__name__}")
    except InvalidSignature:
        raise ValueError("the token's signature does not verify with the TSA certificate") from None


def _check_tsa_certificate(signer: x509.Certificate, trusted: list[x509.Certificate], when: datetime) -> None:
    """`signer` is one of `trusted` or directly issued by one, was valid at `when`, and is a TSA's
    certificate (extended key usage timeStamping, critical, RFC 3161 §2.3)."""
    try:
        eku = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except x509.ExtensionNotFound:
        raise ValueError(
            "the signing certificate has no extended key usage (RFC 3161 requires timeStamping)"
        ) from None
    if ExtendedKeyUsageOID.TIME_STAMPING not in eku.value or not eku.critical:
        raise ValueError("the signing certificate is not a TSA certificate (timeStamping, critical)")
    if not signer.not_valid_before_utc <= when <= signer.not_valid_after_utc:
        raise ValueError(f"the TSA certificate was not valid at {when.isoformat()}")
    for anchor in trusted:
        if anchor == signer:
            return
        try:
            signer.verify_directly_issued_by(anchor)
            return
        except (ValueError, TypeError, InvalidSignature):
            continue
    raise ValueError("the TSA certificate is neither the given certificate nor issued by it")


def verify_token(der: bytes, seal_sha256: str, tsa_cert: Path | None) -> Token:
    """Check a stored reply against the seal hash (and, with `tsa_cert`, its signature and TSA certificate:
    a PEM file of the TSA's certificate or of the CA that issued it). Raises ValueError saying what fails."""
    token, resp = read_token(der)
    if token.hash_algorithm != "sha256" or token.imprint != seal_sha256:
        raise ValueError(
            f"the timestamp is for another hash ({token.hash_algorithm} {token.imprint[:16]}…), "
            f"not this seal's sha256 {seal_sha256[:16]}…"
        )
    if tsa_cert is None:
        return token
    trusted = load_certificates(tsa_cert)
    try:
        sd = _signed_data(resp)
        si = sd["signer_infos"][0]
        signer = _signer_certificate(si, _certificates(sd) + trusted)
        if signer is None:
            raise ValueError("the token names a signing certificate that is neither in it nor the one given")
        _verify_signed_by(signer, si, sd["encap_content_info"]["content"].contents)
    except (TypeError, KeyError, IndexError, AttributeError) as e:  # a damaged token's structure
        raise ValueError(f"the token's signature cannot be read ({type(e).__name__}: {e})") from None
    _check_tsa_certificate(signer, trusted, token.gen_time)
    return token


def load_certificates(path: Path) -> list[x509.Certificate]:
    """The certificates of a PEM (or DER) file; a one-line PrivlabError when there are none."""
    data = require_file(Path(path), "a certificate file (PEM)").read_bytes()
    try:
        certs = (
            x509.load_pem_x509_certificates(data)
            if b"-----BEGIN" in data
            else [x509.load_der_x509_certificate(data)]
        )
    except ValueError as e:
        raise PrivlabError(f"{path}: not a certificate file ({e})") from None
    return certs


def request_timestamp(tsa_url: str, digest: bytes, timeout: float = 30.0) -> bytes:
    """POST a TimeStampReq for `digest` to a TSA; the DER TimeStampResp, checked for status, imprint and nonce."""
    import httpx

    nonce = secrets.randbits(63)
    try:
        reply = httpx.post(
            tsa_url,
            content=timestamp_query(digest, nonce),
            headers={"Content-Type": QUERY_TYPE, "Accept": REPLY_TYPE},
            timeout=timeout,
        )
    except httpx.HTTPError as e:
        raise PrivlabError(f"{tsa_url}: time-stamping authority not reachable ({e})") from None
    if reply.status_code != 200:
        raise PrivlabError(f"{tsa_url}: time-stamping authority answered HTTP {reply.status_code}")
    if len(reply.content) > _MAX_REPLY:
        raise PrivlabError(f"{tsa_url}: the answer is {len(reply.content)} bytes, not a timestamp reply")
    try:
        token, _ = read_token(reply.content)
    except ValueError as e:
        raise PrivlabError(f"{tsa_url}: {e}") from None
    if token.imprint != digest.hex() or token.nonce != nonce:
        raise PrivlabError(f"{tsa_url}: the reply is not for this request (imprint or nonce differs)")
    return reply.content


def seal_hash(session_path: Path) -> str:
    """The `seal_sha256` of a session's seal.json (PrivlabError when it is not sealed)."""
    import json

    from analysis.session import SEAL_JSON

    try:
        doc = json.loads((session_path / SEAL_JSON).read_bytes())
        value = doc["seal_sha256"]
        bytes.fromhex(value)
    except FileNotFoundError:
        raise PrivlabError(
            f"{session_path}: not sealed (no seal.json); seal it before timestamping"
        ) from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise PrivlabError(f"{session_path / SEAL_JSON}: no readable seal_sha256") from None
    return str(value)


def timestamp_session(session_path: Path, tsa_url: str, tsa_cert: Path | None = None) -> Token:
    """Timestamp a sealed session's seal hash at `tsa_url` and store the reply as seal.tsr (never replaced)."""
    target = session_path / SEAL_TSR
    if target.exists():
        raise PrivlabError(f"{target}: already timestamped; the token is never replaced")
    digest = seal_hash(session_path)
    der = request_timestamp(tsa_url, bytes.fromhex(digest))
    try:
        token = verify_token(der, digest, tsa_cert)
    except ValueError as e:
        raise PrivlabError(f"{tsa_url}: {e}; not stored") from None
    tmp = target.with_name(f".{SEAL_TSR}.tmp")
    tmp.write_bytes(der)
    tmp.replace(target)
    return token


def check_timestamp(session_path: Path, seal: dict[str, Any], tsa_cert: Path | None) -> TimestampCheck:
    """`verify`'s check of seal.tsr against the seal (nothing to say when there is none and none is asked)."""
    out = TimestampCheck()
    path = session_path / SEAL_TSR
    if not path.is_file():
        if tsa_cert is not None:
            out.problems.append("no timestamp token (seal.tsr) to check against the given TSA certificate")
        return out
    try:
        out.token = verify_token(path.read_bytes(), str(seal.get("seal_sha256")), tsa_cert)
    except ValueError as e:
        out.problems.append(str(e))
        return out
    when = out.token.gen_time.isoformat()
    if tsa_cert is None:
        out.notices.append(
            f"{SEAL_TSR}: timestamp by {out.token.tsa} at {when} matches the seal hash; its signature was not "
            "checked (give --tsa-cert with the TSA's certificate or CA)"
        )
    else:
        out.notices.append(
            f"{SEAL_TSR}: timestamped by {out.token.tsa} at {when}; signature and imprint verified"
        )
    return out


def describe(session_path: Path, seal_sha256: str | None) -> dict[str, Any]:
    """The report's timestamp line: `timestamped by <TSA> at <genTime>` or `no timestamp (option off)`."""
    path = session_path / SEAL_TSR
    if not path.is_file():
        return {
            "present": False,
            "text": "no timestamp (option off): no time-stamping authority was used; "
            "`privlab timestamp SESSION --tsa URL` adds an RFC 3161 token over the seal hash",
        }
    try:
        token = verify_token(path.read_bytes(), str(seal_sha256), None)
    except ValueError as e:
        return {"present": True, "valid": False, "text": f"seal.tsr does not timestamp this seal: {e}"}
    return {
        "present": True,
        "valid": True,
        "tsa": token.tsa,
        "gen_time": token.gen_time.isoformat(),
        "serial": token.serial,
        "text": f"timestamped by {token.tsa} at {token.gen_time.isoformat()} (RFC 3161 token seal.tsr over the "
        "seal sha256; check its signature with `privlab verify --tsa-cert`)",
    }
