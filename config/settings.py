"""`FundSettings`: the typed configuration of one fund, loaded once and passed down.

Values come from the constructor (the config file's contents, see `config.loader`) and from
`PAPERFUND_`-prefixed environment variables with `__` between nested names
(`PAPERFUND_FUND__CAPITAL=250000`, `PAPERFUND_ALLOCATION__REBALANCER__FREQUENCY=weekly`);
lists and mappings take a JSON value (`PAPERFUND_STRATEGIES='[...]'`), and `null` is None.
The environment wins over the file, merging into nested sections; a list given in the
environment replaces the file's list whole.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.sources.utils import parse_env_vars

from config.allocation import ALGORITHM_NAMES, AllocationSettings
from config.control import ControlSettings, LogSettings
from config.errors import FieldProblems, Problem
from config.models import (
    UNION_TAGS,
    DeadlineSettings,
    FeedSettings,
    FundInfo,
    LedgerSettings,
    StateSettings,
    StrategySettings,
    StrategyTemplate,
    SyntheticFeed,
    WorkersSettings,
)
from config.values import Name, Real, Whole

ENV_PREFIX = "PAPERFUND_"
ENV_NESTED_DELIMITER = "__"
DISCRIMINATOR_TAGS = UNION_TAGS | ALGORITHM_NAMES

_ENVIRON: ContextVar[Mapping[str, str] | None] = ContextVar("paperfund_environ", default=None)


@contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """Read settings from `env` instead of `os.environ` within this block (this context only)."""
    token = _ENVIRON.set(env)
    try:
        yield
    finally:
        _ENVIRON.reset(token)


class _EnvironSource(EnvSettingsSource):
    """The environment source, reading the mapping set by `environment()` when there is one."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        env = _ENVIRON.get()
        if env is None:
            return super()._load_env_vars()
        return parse_env_vars(
            env, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )


class FundSettings(BaseSettings):
    """The root of the configuration (see `config/examples/demo.yaml` for every option)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        env_parse_none_str="null",
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
    )

    fund: FundInfo
    feed: FeedSettings = SyntheticFeed()
    strategies: list[StrategySettings] = Field(default_factory=list)
    catalog: dict[Name, StrategyTemplate] = Field(default_factory=dict)
    allocation: AllocationSettings = AllocationSettings()
    ledger: LedgerSettings = LedgerSettings()
    state: StateSettings = StateSettings()
    deadlines: DeadlineSettings = DeadlineSettings()
    workers: WorkersSettings = WorkersSettings()
    control: ControlSettings = ControlSettings()
    logging: LogSettings = LogSettings()
    history_bars: Annotated[Whole, Field(ge=1)] = 256
    lookback_window: Annotated[Whole, Field(ge=2)] = 252
    periods_per_year: Annotated[Real, Field(gt=0)] = 252.0
    risk_free_rate: Real = 0.0

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # the first source wins: the environment overrides the file given to the constructor
        return (_EnvironSource(settings_cls), init_settings)

    @field_validator("strategies")
    @classmethod
    def _unique_ids_within_capital(
        cls, strategies: list[StrategySettings]
    ) -> list[StrategySettings]:
        problems: list[Problem] = []
        first: dict[str, int] = {}
        for i, strategy in enumerate(strategies):
            if strategy.id in first:
                where = f"strategies.{first[strategy.id]}"
                reason = (
                    f"duplicate strategy id {strategy.id!r} ({where} has it too): ids must differ"
                )
                problems.append(Problem(f"{i}.id", reason))
            first.setdefault(strategy.id, i)
        total = sum((s.allocation for s in strategies), Decimal(0))
        if total > 1:
            parts = " + ".join(f"{s.id} {s.allocation}" for s in strategies)
            problems.append(Problem("", f"allocations sum to {total} ({parts}), above 1"))
        if problems:
            raise FieldProblems(problems)
        return strategies

    @model_validator(mode="after")
    def _catalog_apart_from_ids(self) -> FundSettings:
        ids = {s.id for s in self.strategies}
        clashes = [name for name in self.catalog if name in ids]
        if clashes:
            raise FieldProblems(
                [
                    Problem(f"catalog.{name}", "already the catalog name of a configured strategy")
                    for name in clashes
                ]
            )
        return self

    def strategy_catalog(self) -> dict[str, StrategyTemplate]:
        """What `add` commands can start, by name: each configured strategy under its id,
        then the extra `catalog` entries."""
        catalog: dict[str, StrategyTemplate] = {s.id: s for s in self.strategies}
        catalog.update(self.catalog)
        return catalog
