"""Backfill value types: BackfillConfig defaults and validation, routing enums and the
routing config, and their serde JSON."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lattice_embed import EmbeddingModel
from lattice_embed.backfill import (
    BackfillConfig,
    EmbeddingRoute,
    EmbeddingRoutingConfig,
    RoutingPhase,
)

SMALL, BASE = EmbeddingModel.BGE_SMALL_EN_V15, EmbeddingModel.BGE_BASE_EN_V15

# -- BackfillConfig -------------------------------------------------------------------------


def test_config_defaults_are_the_originals() -> None:
    config = BackfillConfig()
    assert config.batch_size == 100
    assert config.max_concurrent == 4
    assert config.dual_write is True
    assert config.target_query_threshold == 0.8
    assert config.rollback_window_secs == 86400
    assert config.to_dict() == {
        "batch_size": 100,
        "max_concurrent": 4,
        "dual_write": True,
        "target_query_threshold": 0.8,
        "rollback_window_secs": 86400,
    }


@pytest.mark.parametrize(
    ("field", "value", "error", "match"),
    [
        ("batch_size", 0, ValueError, "BackfillConfig.batch_size must be at least 1, got 0"),
        ("batch_size", -5, ValueError, "BackfillConfig.batch_size .*got -5"),
        ("batch_size", 10.0, TypeError, "BackfillConfig.batch_size .*got number 10.0"),
        ("batch_size", True, TypeError, "BackfillConfig.batch_size"),
        ("max_concurrent", 0, ValueError, "BackfillConfig.max_concurrent must be at least 1, got 0"),
        ("dual_write", 1, TypeError, "BackfillConfig.dual_write must be a boolean, got number 1"),
        ("target_query_threshold", -0.1, ValueError,
         "BackfillConfig.target_query_threshold must be between 0 and 1, got -0.1"),
        ("target_query_threshold", 1.0000001, ValueError, "target_query_threshold .*1.0000001"),
        ("target_query_threshold", math.nan, ValueError, "target_query_threshold .*got nan"),
        ("target_query_threshold", math.inf, ValueError, "target_query_threshold .*got inf"),
        ("target_query_threshold", "0.8", TypeError, "target_query_threshold must be a number"),
        ("rollback_window_secs", -1, ValueError, "BackfillConfig.rollback_window_secs .*got -1"),
        ("rollback_window_secs", 1.5, TypeError, "BackfillConfig.rollback_window_secs"),
    ],
)  # fmt: skip
def test_config_rejects_invalid_values_naming_field_and_value(
    field: str, value: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        BackfillConfig(**{field: value})


@pytest.mark.parametrize(
    ("changes", "threshold"),
    [
        ({"batch_size": 1, "max_concurrent": 1, "rollback_window_secs": 0}, 0.8),
        ({"target_query_threshold": 0}, 0.0),
        ({"target_query_threshold": 1}, 1.0),
        ({"target_query_threshold": 0.0}, 0.0),
    ],
)
def test_config_accepts_edge_values(changes: dict[str, Any], threshold: float) -> None:
    config = BackfillConfig(**changes)
    assert config.target_query_threshold == threshold
    assert isinstance(config.target_query_threshold, float)


def test_config_fixture(load_fixture: Any) -> None:
    payload = load_fixture("backfill_config.json")
    config = BackfillConfig.from_dict(payload)
    assert config == BackfillConfig(256, 8, False, 0.95, 3600)
    assert config.to_dict() == payload


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"batch_size": 0}, ValueError, "batch_size must be at least 1"),
        ({"dual_write": "false"}, TypeError, "BackfillConfig.dual_write"),
        ({"target_query_threshold": 2}, ValueError, "between 0 and 1"),
    ],
)
def test_config_from_dict_validates(
    load_fixture: Any, change: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        BackfillConfig.from_dict({**load_fixture("backfill_config.json"), **change})


def test_config_from_dict_needs_every_field_like_serde(load_fixture: Any) -> None:
    payload = load_fixture("backfill_config.json")
    del payload["max_concurrent"]
    with pytest.raises(ValueError, match="BackfillConfig: missing field 'max_concurrent'"):
        BackfillConfig.from_dict(payload)
    with pytest.raises(TypeError, match="BackfillConfig must be a JSON object"):
        BackfillConfig.from_dict([256, 8])


# -- routing enums --------------------------------------------------------------------------


def test_routing_phase_serializes_in_snake_case() -> None:
    assert [phase.to_dict() for phase in RoutingPhase] == ["stable", "migrating", "rollback_window"]
    for phase in RoutingPhase:
        assert RoutingPhase.from_dict(phase.to_dict()) is phase


@pytest.mark.parametrize(
    ("text", "phase"),
    [("Stable", RoutingPhase.STABLE), ("RollbackWindow", RoutingPhase.ROLLBACK_WINDOW)],
)
def test_routing_phase_reads_pascal_case_names(text: str, phase: RoutingPhase) -> None:
    assert RoutingPhase.from_dict(text) is phase


def test_routing_phase_rejects_unknown_values() -> None:
    with pytest.raises(ValueError, match="RoutingPhase: unknown variant 'rollback'"):
        RoutingPhase.from_dict("rollback")
    with pytest.raises(TypeError, match="RoutingPhase must be a string"):
        RoutingPhase.from_dict(None)


def test_embedding_route_values() -> None:
    assert {route.to_dict() for route in EmbeddingRoute} == {"legacy", "target", "dual_write"}
    assert len(set(EmbeddingRoute)) == 3
    assert EmbeddingRoute.from_dict("DualWrite") is EmbeddingRoute.DUAL_WRITE
    assert EmbeddingRoute.from_dict("dual_write") is EmbeddingRoute.DUAL_WRITE
    with pytest.raises(ValueError, match="EmbeddingRoute: unknown variant"):
        EmbeddingRoute.from_dict("both")


# -- EmbeddingRoutingConfig -----------------------------------------------------------------


def test_routing_config_fixture(load_fixture: Any) -> None:
    payloads = load_fixture("routing_configs.json")
    configs = [EmbeddingRoutingConfig.from_dict(payload) for payload in payloads]
    assert configs == [
        EmbeddingRoutingConfig(BASE, (SMALL, BASE), RoutingPhase.ROLLBACK_WINDOW, "mig-001"),
        EmbeddingRoutingConfig(BASE, (BASE,), RoutingPhase.STABLE, None),
    ]
    assert [config.to_dict() for config in configs] == payloads
    assert json.dumps(configs[0].to_dict(), separators=(",", ":")) == (
        '{"query_model":"bge_base_en_v15","write_models":["bge_small_en_v15","bge_base_en_v15"],'
        '"phase":"rollback_window","migration_id":"mig-001"}'
    )


def test_routing_config_stores_write_models_as_a_tuple() -> None:
    config = EmbeddingRoutingConfig(BASE, [SMALL, BASE], RoutingPhase.MIGRATING, "m")
    assert config.write_models == (SMALL, BASE)
    assert config == EmbeddingRoutingConfig(BASE, (SMALL, BASE), RoutingPhase.MIGRATING, "m")
    assert hash(config) == hash(
        EmbeddingRoutingConfig(BASE, (SMALL, BASE), RoutingPhase.MIGRATING, "m")
    )
    assert len(config.write_models) > 1  # dual-write active


def test_routing_config_migration_id_may_be_absent() -> None:
    payload = {"query_model": "BgeBaseEnV15", "write_models": [], "phase": "Stable"}
    config = EmbeddingRoutingConfig.from_dict(payload)
    assert config == EmbeddingRoutingConfig(BASE, (), RoutingPhase.STABLE)


@pytest.mark.parametrize(
    ("payload", "error", "match"),
    [
        ({"write_models": [], "phase": "stable"}, ValueError, "missing field 'query_model'"),
        ({"query_model": "bge_base_en_v15", "write_models": "bge_small_en_v15", "phase": "stable"},
         TypeError, "EmbeddingRoutingConfig.write_models must be a JSON array"),
        ({"query_model": "bge_base_en_v15", "write_models": ["bge"], "phase": "stable"},
         ValueError, "EmbeddingModel: unknown variant 'bge'"),
        ({"query_model": "bge_base_en_v15", "write_models": [], "phase": "done"},
         ValueError, "RoutingPhase: unknown variant 'done'"),
        ({"query_model": "bge_base_en_v15", "write_models": [], "phase": "stable",
          "migration_id": 7}, TypeError, "EmbeddingRoutingConfig.migration_id must be a string"),
    ],
)  # fmt: skip
def test_routing_config_rejects_malformed_payloads(
    payload: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        EmbeddingRoutingConfig.from_dict(payload)


def test_routing_config_constructor_checks_types() -> None:
    with pytest.raises(TypeError, match="query_model must be an EmbeddingModel"):
        EmbeddingRoutingConfig("bge_base_en_v15", (), RoutingPhase.STABLE)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="write_models must hold EmbeddingModels"):
        EmbeddingRoutingConfig(BASE, ("bge",), RoutingPhase.STABLE)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="phase must be a RoutingPhase"):
        EmbeddingRoutingConfig(BASE, (), "stable")  # type: ignore[arg-type]


# -- round trips ----------------------------------------------------------------------------

models = st.sampled_from(list(EmbeddingModel))
routing_configs = st.builds(
    EmbeddingRoutingConfig,
    models,
    st.lists(models, max_size=3),
    st.sampled_from(list(RoutingPhase)),
    st.none() | st.text(),
)
backfill_configs = st.builds(
    BackfillConfig,
    st.integers(1, 2**64 - 1),
    st.integers(1, 2**64 - 1),
    st.booleans(),
    st.floats(0.0, 1.0),
    st.integers(0, 2**64 - 1),
)


@given(routing_configs)
def test_every_routing_config_round_trips_through_json(config: EmbeddingRoutingConfig) -> None:
    assert EmbeddingRoutingConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


@given(backfill_configs)
def test_every_backfill_config_round_trips_through_json(config: BackfillConfig) -> None:
    assert BackfillConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
