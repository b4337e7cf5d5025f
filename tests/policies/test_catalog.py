from pathlib import Path

from policies.catalog import table


def test_readme_lists_every_rule_as_the_code_defines_it():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert table() in readme, "README's rule table is stale: paste `python -m policies.catalog` into it"
