"""The documentation values the shipped stack files carry until a user replaces them.

They let every stack preview offline as shipped, but a real `pulumi up` with them fails halfway
(a certificate that does not exist, a Cloudflare zone that is not yours). The real entry point
refuses them before anything is registered; `pulumi preview` and the offline preview list them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from typing import Any

from .reader import ConfigProblem

_DOCUMENTATION_NETWORKS = tuple(ipaddress.IPv4Network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"))
_MARKERS = (
    (re.compile(r"(^|[.@])example\.(com|org|net)$"), "an example.com name"),
    (re.compile(r":111122223333:"), "the AWS documentation account 111122223333"),
    (re.compile(r"^(0123456789abcdef){2}$|^(fedcba9876543210){2}$"), "a sample Cloudflare id"),
    (re.compile(r"^crm-(dev|staging|production|dr)-project$"), "the sample GCP project id"),
    (re.compile(r"^crm-ci-project$"), "the sample GCP project id"),
    (re.compile(r"^example-org/"), "the sample GitHub repository"),
    (re.compile(r"^0{6}-0{6}-0{6}$"), "the sample GCP billing account"),
    (re.compile(r"^[^/]*\.example\.(com|org|net)/"), "an image in an example.com registry"),
)


def _leaves(key: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for k, v in value.items():
            yield from _leaves(f"{key}.{k}", v)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(f"{key}[{i}]", v)
    else:
        yield key, value


def _why(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    for pattern, reason in _MARKERS:
        if pattern.search(value):
            return reason
    try:
        network = ipaddress.IPv4Network(value, strict=False)
    except ValueError:
        return None
    if any(network.subnet_of(doc) for doc in _DOCUMENTATION_NETWORKS):
        return "a documentation address range"
    return None


def find_placeholders(raw: Mapping[str, Any]) -> list[ConfigProblem]:
    found = []
    for key, value in raw.items():
        for path, leaf in _leaves(key, value):
            reason = _why(leaf)
            if reason:
                found.append(ConfigProblem(path, f"'{leaf}' is {reason}; set your own value before `pulumi up`"))
    return found
