"""What every component shares: how it reads Pulumi's resource options, and its past type names.

`Thing(name, args, opts)`: `args` say what the thing is; `opts` say how Pulumi treats it.

- Providers (`opts.provider`/`opts.providers`) reach every child through `parent=self`; a component
  never creates a cloud provider of its own.
- `opts.protect` protects the component's stateful children only (databases, keys, buckets, generated
  secrets), read here as `self.protected`. The component itself and its stateless children (roles,
  rules, log groups) stay replaceable, so a protected stack can still change them. A cloud's own
  deletion protection is a separate `deletion_protection` argument.
- `opts.depends_on` makes the component wait; children that must wait too take `self.waits_for`.
- `past_types` lists the type tokens a component was registered under before; each becomes an
  alias, so renaming a type never replaces what Pulumi already manages (docs/components.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import pulumi


def as_list(value: Any) -> list:
    """`opts.depends_on` as a list: it may be one resource, a list of them or absent."""
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


class Component(pulumi.ComponentResource):
    past_types: ClassVar[Sequence[str]] = ()

    def __init__(self, t: str, name: str, props: dict | None = None, opts: pulumi.ResourceOptions | None = None, remote: bool = False):
        aliases = [pulumi.Alias(type_=old) for old in self.past_types]
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=aliases))
        # A component inside another one protects its stateful children when its parent does.
        self.protected = bool(opts.protect) if opts.protect is not None else bool(getattr(opts.parent, "protected", False))
        self.waits_for = as_list(opts.depends_on)
        # Protect is not passed on: Pulumi would hand it to every child, stateless ones included.
        opts.protect = None
        super().__init__(t, name, props, opts, remote)

    def require_provider(self, package: str) -> pulumi.ProviderResource:
        """The caller's provider for `package` (from `opts.provider(s)` or the parent's): never an ambient default."""
        provider = self.get_provider(f"{package}::")
        if provider is None:
            raise ValueError(f"{self._name}: pass the {package} provider in opts.providers")
        return provider

    def stateful(self, **options: Any) -> pulumi.ResourceOptions:
        """Options for a child that holds state: protected when the component's `opts.protect` is."""
        return pulumi.ResourceOptions(parent=self, protect=self.protected, **options)


def ready_after(value: pulumi.Input[Any], *resources: pulumi.Resource) -> pulumi.Output[Any]:
    """`value`, carrying a dependency on `resources`: whatever takes it as an input waits for them.

    Used for outputs that are usable only once something else exists (a KMS key once its service
    agent may use it), so callers need no `depends_on` on another component's children.
    """
    return pulumi.Output.all(value, *[r.urn for r in resources]).apply(lambda values: values[0])
