"""`make ca`: a development CA and a client certificate that chains to it, keys private."""

from __future__ import annotations

import stat
import subprocess

from .conftest import REPO


def test_make_ca_creates_a_ca_and_a_client_certificate_that_verifies(tmp_path):
    ca = tmp_path / "ca"
    subprocess.run(["make", "-s", "-C", str(REPO), "ca", f"CA_DIR={ca}"], check=True,
                   capture_output=True)
    verify = subprocess.run(["openssl", "verify", "-CAfile", str(ca / "RootCA.pem"),
                             str(ca / "client.pem")], capture_output=True, text=True)
    assert verify.returncode == 0 and ": OK" in verify.stdout
    text = subprocess.run(["openssl", "x509", "-in", str(ca / "client.pem"), "-noout",
                           "-ext", "extendedKeyUsage"], capture_output=True, text=True).stdout
    assert "TLS Web Client Authentication" in text
    for key in ("RootCA.key", "client.key"):
        assert stat.S_IMODE((ca / key).stat().st_mode) == 0o600


def test_private_keys_are_never_committed():
    ignored = subprocess.run(["git", "-C", str(REPO), "check-ignore", "build/ca/RootCA.key",
                              "build/ca/client.key"], capture_output=True, text=True)
    assert ignored.stdout.split() == ["build/ca/RootCA.key", "build/ca/client.key"]
