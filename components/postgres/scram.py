"""SCRAM-SHA-256 verifiers, so a role's password never reaches the server in plain text.

`ALTER ROLE ... PASSWORD 'SCRAM-SHA-256$...'` stores a verifier as given (PostgreSQL recognises the
format and does not hash it again). The roles Job sends only verifiers, so neither the server's
statement log, pgAudit's role log nor pg_stat_statements (which keeps utility statements verbatim)
can hold a password, and the Job's Secret holds no password either.

The format is PostgreSQL's (src/common/scram-common.c, scram_build_secret): RFC 5802's StoredKey and
ServerKey over SHA-256 (RFC 7677), 4096 iterations as the server's default scram_iterations. The
salt is derived from the password, so the same password gives the same verifier and the Job's
revision changes only when a password does (a random salt would re-run the Job on every `pulumi up`);
two roles with different passwords still get different salts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

ITERATIONS = 4096
SALT_BYTES = 16


def scram_sha_256(password: str, iterations: int = ITERATIONS) -> str:
    """The verifier PostgreSQL stores for `password` (the stack's generated passwords are ASCII, SASLprep's identity)."""
    if not password.isascii():
        raise ValueError("generated passwords are ASCII; SASLprep of other text is not implemented here")
    salt = hmac.new(password.encode(), b"crm database role salt", hashlib.sha256).digest()[:SALT_BYTES]
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"
