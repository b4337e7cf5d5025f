"""The one place a stack's configuration is read, typed and validated.

`load_from_pulumi()` reads the running stack's config (real `pulumi up`/`preview` and the offline
preview alike); `load(stack, raw)` does the work on a plain mapping of `namespace:key` to values, so
tests and cross-stack checks use the very same rules. Every problem is collected; the caller gets
either a valid typed config or a `ConfigValidationError` listing them all, before any resource
exists. One pass: `crm:cloud` picks the kind of stack, whose typed config (`AwsStackConfig` and the
others in `model.py`, pydantic models) validates the whole stack file in one `model_validate`: each
section is a model whose fields are its settings (`setting(...)`, see `schema.py`), and the kind's
model validator runs the rules relating settings on the valid values (`relations.py`).
"""

from __future__ import annotations

import copy
import functools
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import model, peers, schema
from .model import AwsStackConfig, BootstrapStackConfig, GcpStackConfig, GlobalStackConfig, StackConfig
from .placeholders import find_placeholders
from .reader import NAMESPACE, ConfigProblem, ConfigValidationError, Problems, Unavailable, decode
from .schema import PROVIDER_SETTINGS  # noqa: F401  (read by the configuration reference)
from .sizes import ENVIRONMENTS  # noqa: F401  (read by tools and tests from here)

PROJECT_DIR = Path(__file__).resolve().parents[2]
# The typed config of each kind of stack (`crm:cloud`), read from its stack file in one pass.
_CONFIGS: dict[str, type[schema.StackModel]] = {
    config.CLOUD: config for config in (AwsStackConfig, GcpStackConfig, GlobalStackConfig, BootstrapStackConfig)
}
# The sections (`crm:<name>`) each kind of stack reads, and the model declaring each one's settings
# (model.py). Top-level settings besides these: model.Common (and model.BootstrapTopLevel). The last,
# crm:costAssumptions, is the usage the cost estimate prices (cost.py): it changes nothing a stack deploys.
SECTIONS: dict[str, dict[str, type]] = {cloud: config.sections() for cloud, config in _CONFIGS.items()}
_TOP_LEVEL = {cloud: config.top_level() for cloud, config in _CONFIGS.items()}
KNOWN_KEYS = {cloud: config.known_keys() for cloud, config in _CONFIGS.items()}


__all__ = [
    "AwsStackConfig",
    "BootstrapStackConfig",
    "ConfigProblem",
    "ConfigValidationError",
    "GcpStackConfig",
    "GlobalStackConfig",
    "StackConfig",
    "find_placeholders",
    "load",
    "load_from_pulumi",
    "model",
    "raw_from_pulumi",
    "read_stack_file",
]


def read_stack_file(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """The `config:` of `Pulumi.<stack>.yaml` as `namespace:key -> value`; secure values become markers."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"no stack file {path.name} in {project_dir}")
    # A stack's checks read every other stack file too (peers.py): each text is parsed once.
    return copy.deepcopy(_parsed_stack_file(stack, path.name, path.read_text()))


@functools.lru_cache(maxsize=64)
def _parsed_stack_file(stack: str, name: str, text: str) -> dict[str, Any]:
    import yaml

    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark is not None else name
        reason = (
            " ".join(str(part) for part in (getattr(error, "problem", None), getattr(error, "context", None)) if part)
            or str(error).splitlines()[0]
        )
        raise ConfigValidationError(stack, [ConfigProblem(where, f"is not valid YAML: {reason}")]) from None
    if not isinstance(document, dict) or not isinstance(document.get("config") or {}, dict):
        raise ConfigValidationError(stack, [ConfigProblem(name, "must be a mapping with a `config:` mapping of settings")])
    return dict(document.get("config") or {})


def raw_from_pulumi() -> dict[str, Any]:
    """The running stack's config as `namespace:key -> value`, structured values decoded."""
    from pulumi.runtime import config as runtime_config

    keys = set(runtime_config.get_config_env()) | set(runtime_config.CONFIG.get())
    return {key: decode(runtime_config.get_config(key)) for key in keys}


def load_from_pulumi() -> StackConfig:
    import pulumi

    return load(pulumi.get_stack(), raw_from_pulumi())


def load(stack: str, raw: Mapping[str, Any], peer_loader: peers.PeerLoader | None = None, *, check_peer: bool = True) -> StackConfig:
    """Types and validates one stack's config; raises ConfigValidationError with every problem."""
    problems = Problems()
    raw = {key: decode(value) for key, value in raw.items()}
    config = _parse(problems, stack, raw)
    if config is not None and check_peer:
        loader = peer_loader or read_stack_file
        config = peers.check_peer(problems, config, lambda peer: load(peer, loader(peer), check_peer=False))
        peers.check_shared_zone(problems, config, loader, stack_names())
        config = peers.with_runner_repository(problems, config, loader)
    if not problems.items:
        problems.items.extend(problems.deferred)
    if problems:
        raise ConfigValidationError(stack, problems.items)
    if config is None:  # every missing piece is explained by a problem above; never reached
        raise ConfigValidationError(stack, [ConfigProblem(f"{NAMESPACE}:cloud", "the stack's config could not be read")])
    return config


def _parse(problems: Problems, stack: str, raw: dict) -> StackConfig | None:
    """The typed config of the program `crm:cloud` picks (None where a problem was found)."""
    first = schema.read(
        problems,
        NAMESPACE,
        {"cloud": raw.get(f"{NAMESPACE}:cloud")},
        model.Common,
        schema.Context(None),
        separator=":",
        exclude=[f.name for f, s in schema.settings_of(model.Common) if s.key != "cloud"],
    )
    try:
        cloud = first.cloud
    except Unavailable:
        return None  # which program (and so which keys) is unknown: nothing else can be judged
    schema.check_unknown_keys(problems, raw, cloud, KNOWN_KEYS[cloud])
    context = schema.Context(None, problems=problems, cloud=cloud, stack=stack)
    config = typing.cast("StackConfig", _CONFIGS[cloud].model_validate(raw, context=context))
    return config if context.complete else None


def stack_names(project_dir: Path = PROJECT_DIR) -> list[str]:
    """Every stack with a `Pulumi.<stack>.yaml` in the project."""
    return sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in project_dir.glob("Pulumi.*.yaml"))
