"""Latchkey: account management for device fleets (the code Lambda gets)."""

import sys

# botocore imports urllib3's pyOpenSSL shim whenever pyOpenSSL is installed (webauthn needs it, for
# attestation certificates), and cryptography with it: some 50 ms of every cold start, for nothing,
# since botocore builds its TLS contexts from the standard library's SSLContext either way. Refusing
# the shim makes botocore take its fallback import, which is that same class.
sys.modules.setdefault("urllib3.contrib.pyopenssl", None)  # type: ignore[arg-type]
