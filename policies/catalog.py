"""Prints the pack's rules as a Markdown table: `python -m policies.catalog` (docs/policies.md embeds it)."""

from __future__ import annotations

from policies.rules import ALL_RULES


def table() -> str:
    lines = ["| rule | severity | enforcement | checks | a missing property |", "| --- | --- | --- | --- | --- |"]
    for rule in ALL_RULES:
        scope = "stack" if rule.stack_check else ", ".join(t.split(":")[-1] for t in rule.resource_types)
        dev = " (not in dev)" if rule.skip_in_dev else ""
        lines.append(
            f"| `{rule.name}` | {rule.severity.value} | {rule.enforcement.value} | {rule.description}{dev} [{scope}] | {rule.missing} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
