"""SES Easy DKIM published in the Cloudflare zone the stack already writes to: the mail domain is verified
without anyone copying the `sesDkimTokens` output into DNS.

SES gives every domain identity three tokens; each becomes `<token>._domainkey.<domain>` CNAME
`<token>.dkim.amazonses.com` (https://docs.aws.amazon.com/ses/latest/dg/send-email-authentication-dkim-easy.html).
The records are not proxied: Cloudflare must answer with the CNAME itself for SES to find it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_cloudflare as cloudflare

from components.base import Component

EASY_DKIM_TOKENS = 3  # SES always returns three
DKIM_TTL = 3600


@dataclass
class SesDkimRecordsArgs:
    zone_id: pulumi.Input[str]
    domain: str
    tokens: pulumi.Input[Sequence[str]]


class SesDkimRecords(Component):
    """Pass the Cloudflare provider in `opts.providers`."""

    def __init__(self, name: str, args: SesDkimRecordsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("crm:cloudflare:SesDkimRecords", name, None, opts)
        tokens = pulumi.Output.from_input(args.tokens)
        self.records = [
            cloudflare.DnsRecord(
                f"{name}-{i}",
                zone_id=args.zone_id,
                name=tokens.apply(lambda t, i=i: f"{t[i]}._domainkey.{args.domain}"),
                type="CNAME",
                content=tokens.apply(lambda t, i=i: f"{t[i]}.dkim.amazonses.com"),
                ttl=DKIM_TTL,
                proxied=False,
                comment=f"SES DKIM for {args.domain}",
                opts=pulumi.ResourceOptions(parent=self),
            )
            for i in range(EASY_DKIM_TOKENS)
        ]
        self.register_outputs({"domain": args.domain})
