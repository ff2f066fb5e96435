"""TLS for the mock server: a throw-away certificate authority and a server certificate.

Some official clients only open ``wss://`` URLs (the npm ``openai`` package rewrites the scheme),
so ``mock-server --tls`` serves TLS with a certificate made at start by ``trustme``: a fresh CA,
never written anywhere but a temporary directory, whose certificate file clients are told to
trust (``NODE_EXTRA_CA_CERTS``, ``SSL_CERT_FILE``, or an :class:`ssl.SSLContext` of their own).
"""

from __future__ import annotations

import contextlib
import ssl
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MockTLS", "make_tls", "temporary_tls"]

#: Names every mock certificate is valid for, besides the interface it binds.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class MockTLS:
    """A server certificate signed by a fresh CA, and the CA's certificate as a PEM file."""

    ca_file: Path
    server_context: ssl.SSLContext

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts this CA only (and checks host names)."""
        return ssl.create_default_context(cafile=str(self.ca_file))


def make_tls(directory: Path, hosts: Iterable[str] = ()) -> MockTLS:
    """Make a CA and a server certificate for ``hosts`` plus the loopback names; write the CA's
    certificate to ``directory/ca.pem`` (the only file: the keys stay in memory)."""
    import trustme

    names = list(dict.fromkeys([*LOOPBACK_NAMES, *(h for h in hosts if h and h != "0.0.0.0")]))  # noqa: S104
    ca = trustme.CA(organization_name="realtime-harness mock")
    cert = ca.issue_cert(*names)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server)
    ca_file = Path(directory) / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return MockTLS(ca_file=ca_file, server_context=server)


@contextlib.contextmanager
def temporary_tls(hosts: Iterable[str] = ()) -> Iterator[MockTLS]:
    """:func:`make_tls` in a temporary directory removed when the block ends."""
    with tempfile.TemporaryDirectory(prefix="realtime-harness-tls-") as directory:
        yield make_tls(Path(directory), hosts)
