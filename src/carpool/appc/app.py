"""The ``app`` object: how to execute an image (``schema/types/app.go``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AliasChoices, Field, model_validator

from carpool.appc._model import AppcModel, invalid, show
from carpool.appc.isolators import (
    Isolator,
    Isolators,
    bounding_capabilities,
    find_isolator,
    no_new_privileges,
    unknown_isolators,
)
from carpool.appc.names import ACName, EnvName, NonEmptyStr

MAX_PORT = 65535
MAX_ID = 2**32 - 1

EVENT_PRE_START = "pre-start"
EVENT_POST_STOP = "post-stop"
EventName = Literal["pre-start", "post-stop"]


def _check_event_name(value: str) -> str:
    if value not in (EVENT_PRE_START, EVENT_POST_STOP):
        raise invalid(f"{show(value)} is not an event (pre-start or post-stop)")
    return value


class EventHandler(AppcModel):
    """A command run before the app starts (``pre-start``) or after it exits (``post-stop``)."""

    name: Annotated[str, AfterValidator(_check_event_name)]
    exec: list[str]

    @model_validator(mode="after")
    def _needs_command(self) -> EventHandler:
        if not self.exec:
            raise invalid("must not be empty", "exec")
        return self


class EnvironmentVariable(AppcModel):
    """``{name, value}``; values are literal (no substitution)."""

    name: EnvName
    value: str


class MountPoint(AppcModel):
    """Where the app expects a volume called :attr:`name`."""

    name: ACName
    path: NonEmptyStr
    read_only: bool = Field(default=False, alias="readOnly")


def _check_port(value: int) -> int:
    if not 1 <= value <= MAX_PORT:
        raise invalid(f"{value} is not a port")
    return value


def _check_count(value: int) -> int:
    if value < 0:
        raise invalid(f"{value} is not a port count")
    return value or 1  # Go: a count of 0 means 1


class Port(AppcModel):
    """A port (or range of :attr:`count` ports) the app listens on; informational."""

    name: ACName
    protocol: NonEmptyStr
    port: Annotated[int, AfterValidator(_check_port)]
    count: Annotated[int, AfterValidator(_check_count)] = 1
    socket_activated: bool = Field(default=False, alias="socketActivated")

    @model_validator(mode="after")
    def _range_fits(self) -> Port:
        if self.port + self.count > MAX_PORT + 1:
            raise invalid(
                f"ports {self.port}..{self.port + self.count - 1} go beyond {MAX_PORT}", "count"
            )
        return self

    @property
    def last_port(self) -> int:
        return self.port + self.count - 1


def _check_gid(value: int) -> int:
    if not 0 <= value <= MAX_ID:
        raise invalid(f"{value} is not a group ID")
    return value


def _check_event_handlers(handlers: list[EventHandler]) -> list[EventHandler]:
    seen: set[str] = set()
    for index, handler in enumerate(handlers):
        if handler.name in seen:
            raise invalid(f"more than one {show(handler.name)} handler", index, "name")
        seen.add(handler.name)
    return handlers


def _check_environment(variables: list[EnvironmentVariable]) -> list[EnvironmentVariable]:
    seen: set[str] = set()
    for index, variable in enumerate(variables):
        if variable.name in seen:
            raise invalid(f"duplicate environment variable {show(variable.name)}", index, "name")
        seen.add(variable.name)
    return variables


def _check_working_directory(value: str) -> str:
    if value == "":
        return "/"  # Go: empty means the default
    if not value.startswith("/"):
        raise invalid(f"{show(value)} is not an absolute path")
    return value


class App(AppcModel):
    """Default execution parameters of an image, or a pod's replacement for them."""

    exec: list[str] = Field(default_factory=list)
    event_handlers: Annotated[list[EventHandler], AfterValidator(_check_event_handlers)] = Field(
        default_factory=list, alias="eventHandlers"
    )
    user: NonEmptyStr
    group: NonEmptyStr
    supplementary_gids: list[Annotated[int, AfterValidator(_check_gid)]] = Field(
        default_factory=list,
        validation_alias=AliasChoices("supplementaryGIDs", "supplementaryGids"),
        serialization_alias="supplementaryGIDs",
    )
    working_directory: Annotated[str, AfterValidator(_check_working_directory)] = Field(
        default="/", alias="workingDirectory"
    )
    environment: Annotated[list[EnvironmentVariable], AfterValidator(_check_environment)] = Field(
        default_factory=list
    )
    isolators: Isolators = Field(default_factory=list)
    mount_points: list[MountPoint] = Field(default_factory=list, alias="mountPoints")
    ports: list[Port] = Field(default_factory=list)
    user_annotations: dict[str, str] = Field(default_factory=dict, alias="userAnnotations")
    user_labels: dict[str, str] = Field(default_factory=dict, alias="userLabels")

    @model_validator(mode="before")
    @classmethod
    def _one_gid_spelling(cls, data: Any) -> Any:
        if (
            isinstance(data, Mapping)
            and "supplementaryGIDs" in data
            and "supplementaryGids" in data
        ):
            raise invalid("given twice (also as supplementaryGIDs)", "supplementaryGids")
        return data

    def event_handler(self, name: EventName) -> EventHandler | None:
        """The ``pre-start`` or ``post-stop`` handler, if any."""
        for handler in self.event_handlers:
            if handler.name == name:
                return handler
        return None

    def env(self, name: str) -> str | None:
        """The value of an environment variable the image sets, if any."""
        for variable in self.environment:
            if variable.name == name:
                return variable.value
        return None

    def environment_dict(self) -> dict[str, str]:
        """The environment as a mapping, in order."""
        return {variable.name: variable.value for variable in self.environment}

    def isolator(self, name: str) -> Isolator | None:
        """The isolator called ``name``, if any."""
        return find_isolator(self.isolators, name)

    def unknown_isolators(self) -> list[str]:
        """Names of isolators carpool does not understand (for the runtime to report)."""
        return unknown_isolators(self.isolators)

    def bounding_capabilities(self) -> tuple[str, ...]:
        """The capability bounding set the isolators ask for (default: 14 capabilities)."""
        return bounding_capabilities(self.isolators)

    def no_new_privileges(self) -> bool:
        """Whether the app runs with no-new-privileges."""
        return no_new_privileges(self.isolators)
