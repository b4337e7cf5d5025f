"""What the offline previews add up to, for people: reports and the documents generated from the code.

`cost` (with `data/prices.yaml`), `diagram`, `rebuild` (with `data/creation_times.yaml`),
`first_deploy` (the sequence from empty accounts), `config_doc`, `permissions_doc`,
`prerequisites` and `layout_doc` (generated parts of docs/ and README.md), and `terraform_plan`
with `terraform_types` (a preview as Terraform plan JSON for scanners). `cli` holds the `cost`,
`diagram` and `rebuild-time` commands. Nothing here talks to a cloud.
"""
