"""Pulumi entry point: the stack's own config (crm:cloud) decides which program in stacks/ runs."""

import stacks

stacks.main()
