"""What the compose and Kubernetes tests share: the repository's paths, and how to tell a
secret written out from a secret referred to."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"

# A URL with a password in it: scheme://user:password@host.
URL_WITH_PASSWORD = re.compile(r"[a-z+]+://[^\s/:@'\"]+:[^\s/@'\"]+@")
# Names of settings or variables whose value would be a secret.
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|(?<!PUBLIC_)KEY\b|KEY_|_URL\b|COOKIE", re.I)
# Values that look like key material or tokens: long runs of base64 or hex.
KEY_MATERIAL = re.compile(
    r"-----BEGIN |whsec_[A-Za-z0-9+/=]{8,}"
    # 32+ base64 characters with a digit, standing alone (not part of a path or a name).
    r"|(?<![\w/.-])(?=[A-Za-z+/]*\d)[A-Za-z0-9+/]{32,}={0,2}(?![\w/.-])"
)


def literal_secrets(text: str) -> list[str]:
    """Passwords in URLs and key-like strings in `text` (a manifest or a settings file)."""
    found = URL_WITH_PASSWORD.findall(text)
    # Image digests and checksums would look like key material; none are written here.
    found += [m for m in KEY_MATERIAL.findall(text) if not m.startswith("sha256:")]
    return found
