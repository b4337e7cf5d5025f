"""The one place a stack's configuration is read, typed and validated.

`load_from_pulumi()` reads the running stack's config (real `pulumi up`/`preview` and the offline
preview alike); `load(stack, raw)` does the work on a plain mapping of `namespace:key` to values, so
tests and cross-stack checks use the very same rules. Every problem is collected; the caller gets
either a valid typed config or a `ConfigValidationError` listing them all, before any resource
exists. One pass: each section the stack's kind reads (`SECTIONS`) is validated by the schema
(`setting(...)` on the dataclasses of `model.py`, see `schema.py`), the rules relating settings run
on the valid values (`relations.py`), and the typed config is built from the sections (`model.py`).
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import cost, model, peers, relations, rules, schema
from .model import AwsStackConfig, BootstrapStackConfig, GcpStackConfig, GlobalStackConfig, StackConfig
from .placeholders import find_placeholders
from .reader import NAMESPACE, ConfigProblem, ConfigValidationError, Problems, decode
from .sizes import ENVIRONMENTS  # noqa: F401  (read by tools and tests from here)

PROJECT_DIR = Path(__file__).resolve().parents[2]
# The sections (`crm:<name>`) each kind of stack reads, and the dataclass declaring each one's settings
# (model.py). Top-level settings besides these: model.Common (and model.BootstrapTopLevel). The last,
# crm:costAssumptions, is the usage the cost estimate prices (cost.py): it changes nothing a stack deploys.
SECTIONS: dict[str, dict[str, type]] = {
    "aws": {
        "network": model.AwsNetworkSettings,
        "kubernetes": model.Eks,
        "database": model.RdsPostgres,
        "redis": model.ElastiCacheRedis,
        "ingress": model.Ingress,
        "registry": model.Registry,
        "interconnect": model.AwsInterconnect,
        "platform": model.AwsPlatform,
        "monitoring": model.Monitoring,
        "application": model.ApplicationSettings,
        "dns": model.Dns,
        "rotation": model.Rotation,
        "ci": model.DeployRunnerSettings,
        "faultInjection": model.FaultInjectionSettings,
        "costAssumptions": cost.SECTIONS["aws"],
    },
    "gcp": {
        "network": model.GcpNetworkSettings,
        "kubernetes": model.Gke,
        "database": model.CloudSqlSettings,
        "redis": model.MemorystoreSettings,
        "registry": model.Registry,
        "interconnect": model.GcpInterconnect,
        "platform": model.GcpPlatform,
        "monitoring": model.Monitoring,
        "replication": model.Replication,
        "application": model.ApplicationSettings,
        "dns": model.Dns,
        "ingress": model.GcpIngress,
        "rotation": model.Rotation,
        "costAssumptions": cost.SECTIONS["gcp"],
    },
    "cloudflare": {"loadBalancer": model.LoadBalancerSettings, "costAssumptions": cost.SECTIONS["cloudflare"]},
    "bootstrap": {
        "github": model.GithubRepository,
        "state": model.StateSettings,
        "projects": model.ProjectFactory,
        "cloudflareToken": model.CloudflareTokenFactory,
        "costAssumptions": cost.SECTIONS["bootstrap"],
    },
}
# Sections read only when present in the stack file (the DR stacks' link).
OPTIONAL_SECTIONS = ("interconnect",)
_TOP_LEVEL = {"bootstrap": (model.BootstrapTopLevel,)}
KNOWN_KEYS = {
    cloud: tuple(schema.known_keys(model.Common, cloud))
    + tuple(sections)
    + tuple(key for cls in _TOP_LEVEL.get(cloud, ()) for key in schema.known_keys(cls, cloud))
    for cloud, sections in SECTIONS.items()
}
# The rules relating the settings of each kind of stack, and the typed config it gets.
_RELATIONS = {"aws": relations.aws, "gcp": relations.gcp, "cloudflare": relations.cloudflare, "bootstrap": relations.bootstrap}
_CONFIGS: dict[str, Any] = {
    "aws": model.AwsStackConfig,
    "gcp": model.GcpStackConfig,
    "cloudflare": model.GlobalStackConfig,
    "bootstrap": model.BootstrapStackConfig,
}

# Provider settings the programs read (outside the `crm` namespace), by kind of stack.
PROVIDER_SETTINGS = {
    "aws:region": schema.Setting("aws:region", "AWS region of the stack", clouds=("aws", "bootstrap")),
    "gcp:project": schema.Setting("gcp:project", "GCP project of the stack", clouds=("gcp", "bootstrap")),
    "gcp:region": schema.Setting("gcp:region", "GCP region of the stack", clouds=("gcp", "bootstrap")),
    "cloudflare:apiToken": schema.Setting(
        "cloudflare:apiToken",
        "Cloudflare API token (`pulumi config set --secret`; without it CLOUDFLARE_API_TOKEN); bootstrap: one that may create tokens",
        default=None,
        clouds=("aws", "gcp", "cloudflare", "bootstrap"),
    ),
}
# A key in a provider's namespace this close to a setting the program reads, while that setting is
# unset, is a misspelling of it (`aws:regin`); other provider keys (`aws:profile`) are the provider's.
_PROVIDER_TYPO_CUTOFF = 0.75


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
    import yaml

    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"no stack file {path.name} in {project_dir}")
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path.name}:{mark.line + 1}:{mark.column + 1}" if mark is not None else path.name
        reason = (
            " ".join(str(part) for part in (getattr(error, "problem", None), getattr(error, "context", None)) if part)
            or str(error).splitlines()[0]
        )
        raise ConfigValidationError(stack, [ConfigProblem(where, f"is not valid YAML: {reason}")]) from None
    if not isinstance(document, dict) or not isinstance(document.get("config") or {}, dict):
        raise ConfigValidationError(stack, [ConfigProblem(path.name, "must be a mapping with a `config:` mapping of settings")])
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
    top = {key.partition(":")[2]: value for key, value in raw.items() if key.partition(":")[0] == NAMESPACE}
    common_keys = schema.known_keys(model.Common)
    first = schema.read(
        problems,
        NAMESPACE,
        {"cloud": top.get("cloud")},
        model.Common,
        schema.Context(None),
        separator=":",
        exclude=[f.name for f, s in schema.settings_of(model.Common) if s.key != "cloud"],
    )
    try:
        cloud = first.cloud
    except schema.Unavailable:
        return None  # which program (and so which keys) is unknown: nothing else can be judged
    _check_unknown_keys(problems, raw, cloud)
    settings = schema.read(
        problems, NAMESPACE, {key: top.get(key) for key in common_keys}, model.Common, schema.Context(None), cloud=cloud, separator=":"
    )
    values = settings._values
    environment_valid = "environment" in values
    if not environment_valid:
        problems.relations = False  # checks against no environment would only echo that one error
    public_host = values.get("public_host", top.get("publicHost") if isinstance(top.get("publicHost"), str) else "")
    common = model.Common(
        **{
            **values,
            "stack": stack,
            "environment": values.get("environment", str(top.get("environment"))),
            "project": values.get("project", "crm"),
            "organization": values.get("organization", "organization"),
            "public_host": public_host or "",
        }
    )
    _read_provider_keys(problems, raw, cloud)
    provider = {key: schema.provider_value(raw, key) for key in ("aws:region", "gcp:project", "gcp:region")}
    context = schema.Context(common, environment_valid=environment_valid)
    sections, top_level = _read_sections(problems, common, raw, context, provider)
    _RELATIONS[cloud](problems, common, sections, provider)
    common = common.model_copy(update={"cost_assumptions": cost.assumptions(common, sections.pop("costAssumptions"))})
    if not settings.complete:
        return None
    try:
        built = {_attribute(name): parsed.build() for name, parsed in sections.items()}
        for parsed in top_level:
            built.update(dict(parsed.build()))
    except schema.Unavailable:
        return None  # a wrong value, reported
    if "dns" in built:  # the zone's token is the stack's own provider secret
        built["dns"] = built["dns"].model_copy(update={"api_token": raw.get("cloudflare:apiToken") or None})
    return _CONFIGS[cloud].from_sections(common, built, provider)


def _read_sections(
    problems: Problems, common: model.Common, raw: dict, context: schema.Context, provider: Mapping[str, str]
) -> tuple[dict[str, schema.Parsed], list[schema.Parsed]]:
    """Each section the stack's kind reads, validated by the schema in one pass."""
    cloud = common.cloud
    sections: dict[str, schema.Parsed] = {}
    for name, cls in SECTIONS[cloud].items():
        key = f"{NAMESPACE}:{name}"
        if name in OPTIONAL_SECTIONS and raw.get(key) is None:
            continue
        extra = _derived_from(name, sections)
        sections[name] = schema.read(problems, key, raw.get(key), cls, dataclasses.replace(context, extra=extra), cloud=cloud)
    top_level = []
    for cls in _TOP_LEVEL.get(cloud, ()):
        project = provider["gcp:project"]
        extra = {"gcp_project": project} if not project or rules.PROJECT_ID.match(project) else {}
        own = {key: raw.get(f"{NAMESPACE}:{key}") for key in schema.known_keys(cls, cloud)}
        top_level.append(schema.read(problems, NAMESPACE, own, cls, dataclasses.replace(context, extra=extra), cloud=cloud, separator=":"))
    return sections, top_level


def _derived_from(name: str, sections: Mapping[str, schema.Parsed]) -> dict[str, Any]:
    """What a section's derived defaults read from the sections before it (schema.Context.extra)."""
    if name == "application":
        repositories = schema.valid_or_none(sections["registry"], "repositories")
        return {} if repositories is None else {"repositories": repositories}
    if name == "replication":
        try:
            return {"replication_default": "interconnect" in sections and sections["database"].logical_decoding}
        except schema.Unavailable:  # logicalDecoding is wrong, and reported
            return {}
    return {}


def _attribute(section: str) -> str:
    """A section's attribute on the stack's config: `faultInjection` -> `fault_injection`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", section).lower()


def _check_unknown_keys(problems: Problems, raw: dict, cloud: str) -> None:
    """Top-level `crm:` keys the program does not read, and misspelt provider keys, each with the nearest known key."""
    known = KNOWN_KEYS[cloud]
    for key in sorted(raw):
        namespace, _, name = key.partition(":")
        if namespace == NAMESPACE and name not in known:
            problems.value(
                key, schema.unknown_key_message(name, known, prefix=f"{NAMESPACE}:", what=f"is not a setting of a {cloud} stack")
            )
            close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
            if close and f"{NAMESPACE}:{close[0]}" not in raw:
                problems.suppressed.add(f"{NAMESPACE}:{close[0]}")
    read = [key for key, spec in PROVIDER_SETTINGS.items() if spec.clouds is None or cloud in spec.clouds]
    unset = [key for key in read if raw.get(key) in (None, "")]
    for key in sorted(raw):
        namespace = key.partition(":")[0]
        if namespace == NAMESPACE or key in read or not any(k.partition(":")[0] == namespace for k in read):
            continue
        close = difflib.get_close_matches(key, unset, n=1, cutoff=_PROVIDER_TYPO_CUTOFF)
        if close:
            problems.value(key, f"is not a setting this stack reads; did you mean {close[0]}?")
            problems.suppressed.add(close[0])
            unset.remove(close[0])


def _read_provider_keys(problems: Problems, raw: dict, cloud: str) -> None:
    for key, spec in PROVIDER_SETTINGS.items():
        if (spec.clouds is not None and cloud not in spec.clouds) or key in problems.suppressed:
            continue
        value = raw.get(key)
        if value in (None, "") and spec.required:
            problems.value(key, "is required but not set")
        elif value not in (None, "") and not isinstance(value, str) and not (isinstance(value, Mapping) and "secure" in value):
            problems.value(key, f"must be a string, got {value!r}" if key != "cloudflare:apiToken" else "must be a string (a secret)")
    project = raw.get("gcp:project")
    if cloud == "bootstrap" and isinstance(project, str) and project and rules.gcp_project(project):
        problems.value("gcp:project", rules.gcp_project(project) or "")


def stack_names(project_dir: Path = PROJECT_DIR) -> list[str]:
    """Every stack with a `Pulumi.<stack>.yaml` in the project."""
    return sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in project_dir.glob("Pulumi.*.yaml"))
