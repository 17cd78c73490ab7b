"""The one settings style of the project: pydantic-settings classes, one per component.

Every component (transfers, store credentials, the universal cache, the init job, the mlflow
server app, serving) declares its environment variables once, in its own ``settings.py``, as a
subclass of :class:`EnvSettings` with an ``env_prefix``, a type, a default that works and a
docstring under each field. Nothing else in the project reads ``os.environ``.

A bad value fails naming the variable, the problem, what the variable is for, and an accepted
example::

    TRANSFER_BLOCK_SIZE='4M': input should be a valid byte size (bytes per Azure block / S3 part)
    — e.g. TRANSFER_BLOCK_SIZE=4MiB

Sizes are :data:`pydantic.ByteSize` fields: ``4194304``, ``4MiB``, ``4 MB`` and ``1GiB`` all work.

``services`` imports this module (and only this one) from ``wrappers``: every image installs the
package, and two copies of the error formatting would drift apart.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from pydantic import AliasChoices, ValidationError
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings, SettingsConfigDict

S = TypeVar("S", bound="EnvSettings")


class SettingsInvalid(ValueError):
    """One or more environment variables hold values a component cannot use."""

    def __init__(self, component: str, problems: list[str], where: str):
        self.problems = problems
        super().__init__(f"invalid {component} settings:\n" + "\n".join(problems)
                         + f"\nset them {where}")


class EnvSettings(BaseSettings):
    """Base of every settings class. Subclasses set ``env_prefix`` (and may override
    ``component`` / ``where`` for error messages)."""

    # env_ignore_empty: compose passes `X: ${X:-}`; an empty value means the default.
    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True,
                                      use_attribute_docstrings=True, env_ignore_empty=True)

    #: Names the component in error messages ("invalid transfer settings: ...").
    component: ClassVar[str | None] = None
    #: Where a user sets these variables, for the error message's last line.
    where: ClassVar[str] = "in the environment (or .env for docker compose)"

    @classmethod
    def load(cls: type[S], **overrides: Any) -> S:
        """The settings from the environment (``overrides`` win); a bad value raises
        :class:`SettingsInvalid` naming each variable and an accepted example."""
        try:
            return cls(**overrides)
        except ValidationError as exc:
            raise invalid_settings(cls, exc) from None

    @classmethod
    def env_name(cls, field: str) -> str:
        """The environment variable a field is read from (its first alias, if it has some)."""
        info = cls.model_fields.get(field)
        alias = getattr(info, "validation_alias", None)
        if isinstance(alias, AliasChoices):
            first = alias.choices[0]
            return first if isinstance(first, str) else field.upper()
        if isinstance(alias, str):
            return alias
        prefix = cls.model_config.get("env_prefix", "")
        return f"{prefix}{field}".upper()


def invalid_settings(cls: type[EnvSettings], exc: ValidationError) -> SettingsInvalid:
    """Turn pydantic's field-named errors into variable-named ones with an example."""
    problems = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else "?"
        if field not in cls.model_fields:  # pydantic reports an aliased field by its alias
            field = next((name for name in cls.model_fields if cls.env_name(name) == field),
                         field)
        info = cls.model_fields.get(field)
        env = cls.env_name(field) if info else field
        given = err.get("input")
        shown = f"={given!r}" if isinstance(given, str | int | float) else ""
        purpose = f" ({_first_sentence(info.description)})" \
            if info is not None and info.description else ""
        example = _example(env, info)
        message = err["msg"].removeprefix("Value error, ")
        problems.append(f"  {env}{shown}: {message[:1].lower()}{message[1:]}{purpose}{example}")
    component = cls.component or cls.__name__.removesuffix("Settings").lower()
    return SettingsInvalid(component, problems, cls.where)


def _first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    return flat.split(". ", 1)[0].rstrip(".")


def _example(env: str, info) -> str:
    if info is None:
        return ""
    examples = (info.json_schema_extra or {}).get("examples") \
        if isinstance(info.json_schema_extra, dict) else None
    examples = examples or info.examples
    if examples:
        return f" — e.g. {env}={examples[0]}"
    default = info.get_default(call_default_factory=False)
    if default not in (None, "", PydanticUndefined) and not callable(default):
        return f" — e.g. {env}={default}"
    return ""
