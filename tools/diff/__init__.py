"""`python -m tools diff`: what a change would do to deployed stacks (create, update, replace, delete), offline.

`snapshot` runs the base revision's own code for the deployed state, `plan` steps the working tree
against it as `pulumi preview` would, `cli` is the command. `force_new/` reads which input changes
replace a resource from the providers' sources into `data/force_new/`.
"""
