"""How Cloudflare stores a DNS record's name and target, so what the stacks write is what it reads back.

Cloudflare keeps fully qualified names without the root's trailing dot: it accepts
`_x.crm.example.com.` and answers `_x.crm.example.com`. ACM's validation options and Certificate
Manager's DNS authorizations end their names and CNAME targets with that dot, so a record written
as they give it differs from its own state after every refresh and every `pulumi up` shows an
update. Records are written in the stored form instead.
"""

from __future__ import annotations


def stored_form(value: str | None) -> str | None:
    """A DNS name or CNAME target as Cloudflare stores it: without the trailing dot (None stays None)."""
    return value.rstrip(".") if isinstance(value, str) else value
