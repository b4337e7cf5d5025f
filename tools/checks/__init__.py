"""The checks a plan must pass before a real deploy, judged on a stack's offline preview (or a saved plan).

`names` (cloud name limits and collisions), `deploy_checks` with `first_deploy_checks`,
`lifecycle_checks` and `permission_checks` (what the providers and the cloud would refuse on a
first deploy or a later change; `iam_eval` is IAM's policy evaluation they use), and
`request_path` (every hop of a user's request is wired). `schemas/` holds the CRD and Helm values
schemas the deploy checks read. Nothing here talks to a cloud.
"""
