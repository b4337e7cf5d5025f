"""The test suite; it mirrors the layout (tests/tools/reports/test_cost.py tests tools/reports/cost.py), see docs/development.md."""
