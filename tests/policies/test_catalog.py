from pathlib import Path

from policies.catalog import table


def test_policies_doc_lists_every_rule_as_the_code_defines_it():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "policies.md").read_text()
    assert table() in doc, "docs/policies.md's rule table is stale: run `python -m tools.docs policies`"
