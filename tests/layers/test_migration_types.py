"""Migration value types: state facts, skip reasons, Rust `{:?}` formatting, and the serde
JSON shared with a Rust service (hand-written fixtures, old payloads, malformed input)."""

from __future__ import annotations

import json
import math
import pickle
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lattice_embed import EmbeddingModel
from lattice_embed._serde import debug_f64, debug_str
from lattice_embed.migration import (
    Cancelled,
    Completed,
    ContentDeleted,
    ContentTooLarge,
    Failed,
    InProgress,
    InvalidEncoding,
    ManualSkip,
    MigrationPlan,
    MigrationProgress,
    MigrationState,
    Paused,
    PermanentApiError,
    Planned,
    SkipReason,
)

# -- facts every state answers ------------------------------------------------------------

# state, resumable, terminal, active, progress, processed, skipped, total, effective total,
# effective coverage
FACTS = [
    (Planned(), False, False, False, 0.0, 0, 0, 0, 0, 1.0),
    (InProgress(250, 1000, 0), False, False, True, 0.25, 250, 0, 1000, 1000, 0.25),
    (InProgress(450, 1000, 100), False, False, True, 0.45, 450, 100, 1000, 900, 0.5),
    (InProgress(0, 0, 0), False, False, True, 1.0, 0, 0, 0, 0, 1.0),
    (InProgress(0, 2, 5), False, False, True, 0.0, 0, 5, 2, 0, 1.0),  # saturating
    (InProgress(15, 10, 0), False, False, True, 1.5, 15, 0, 10, 10, 1.5),  # not clamped
    (Paused(500, 1000, 0, "x"), True, False, False, 0.5, 500, 0, 1000, 1000, 0.5),
    (Failed(300, 1000, 10, "x"), True, False, False, 0.3, 300, 10, 1000, 990, 300 / 990),
    (Completed(1500, 5, 2.5), False, True, False, 1.0, 1500, 5, 0, 0, 1.0),  # no total
    (Cancelled(200, 1000, 0), False, True, False, 0.2, 200, 0, 1000, 1000, 0.2),
    (Cancelled(0, 0, 0), False, True, False, 1.0, 0, 0, 0, 0, 1.0),
]


@pytest.mark.parametrize("row", FACTS, ids=lambda row: repr(row[0]))
def test_state_facts(row: tuple[Any, ...]) -> None:
    (state, resumable, terminal, active, progress, processed, skipped, total, effective_total,
     coverage) = row  # fmt: skip
    assert state.is_resumable is resumable
    assert state.is_terminal is terminal
    assert state.is_active is active
    assert state.progress == progress
    assert (state.processed, state.skipped, state.total) == (processed, skipped, total)
    assert state.effective_total == effective_total
    assert state.effective_coverage == coverage


def test_states_are_values() -> None:
    assert InProgress(1, 2, 0) == InProgress(1, 2, 0)
    assert InProgress(1, 2, 0) != Cancelled(1, 2, 0)
    assert Planned() == Planned()
    assert len({Planned(), Planned(), InProgress(1, 2, 0)}) == 2
    with pytest.raises(AttributeError):
        InProgress(1, 2, 0).processed = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        MigrationState()  # type: ignore[abstract]


@pytest.mark.parametrize(
    ("build", "error", "match"),
    [
        (lambda: InProgress(-1, 10, 0), ValueError, "InProgress.processed"),
        (lambda: InProgress(1, 10.0, 0), TypeError, "InProgress.total"),
        (lambda: Paused(1, 10, False, "x"), TypeError, "Paused.skipped"),
        (lambda: Paused(1, 10, 0, None), TypeError, "Paused.reason"),
        (lambda: Failed(1, 10, 0, b"x"), TypeError, "Failed.error"),
        (lambda: Completed(1, 0, "5"), TypeError, "Completed.duration_secs"),
        (lambda: Cancelled(1, 2**64, 0), ValueError, "Cancelled.total"),
    ],
)
def test_state_constructors_check_types(build: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        build()


def test_completed_duration_is_stored_as_float() -> None:
    state = Completed(10, 0, 5)
    assert isinstance(state.duration_secs, float)
    assert state == Completed(10, 0, 5.0)


# -- Rust `{:?}` ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "debug"),
    [
        (Planned(), "Planned"),
        (InProgress(3, 10, 0), "InProgress { processed: 3, total: 10, skipped: 0 }"),
        (Paused(1, 2, 3, "maintenance"), 'Paused { processed: 1, total: 2, skipped: 3, reason: "maintenance" }'),
        (Failed(1, 2, 0, 'said "no"\n'), 'Failed { processed: 1, total: 2, skipped: 0, error: "said \\"no\\"\\n" }'),
        (Completed(10, 0, 0.0), "Completed { processed: 10, skipped: 0, duration_secs: 0.0 }"),
        (Completed(10, 2, 1.5), "Completed { processed: 10, skipped: 2, duration_secs: 1.5 }"),
        (Cancelled(0, 10, 0), "Cancelled { processed: 0, total: 10, skipped: 0 }"),
    ],
)  # fmt: skip
def test_rust_debug_of_states(state: MigrationState, debug: str) -> None:
    assert state.rust_debug() == debug


@pytest.mark.parametrize(
    ("value", "debug"),
    [
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (1.0, "1.0"),
        (0.1, "0.1"),
        (0.0001, "0.0001"),
        (0.00001, "1e-5"),
        (1.5e-7, "1.5e-7"),
        (1e15, "1000000000000000.0"),
        (1e16, "1e16"),
        (1.2345e20, "1.2345e20"),
        (math.nan, "NaN"),
        (math.inf, "inf"),
        (-math.inf, "-inf"),
    ],
)
def test_rust_debug_of_floats(value: float, debug: str) -> None:
    assert debug_f64(value) == debug


@pytest.mark.parametrize(
    ("text", "debug"),
    [
        ("plain", '"plain"'),
        ("", '""'),
        ("it's", '"it\'s"'),  # single quotes are not escaped in a str
        ('a "b" \\ c', '"a \\"b\\" \\\\ c"'),
        ("tab\there\r\n\0", '"tab\\there\\r\\n\\0"'),
        ("bell\x07 del\x7f", '"bell\\u{7} del\\u{7f}"'),
        ("café ünïcode 日本", '"café ünïcode 日本"'),
        ("e\u0301", '"e\\u{301}"'),  # a combining mark is escaped
        ("zero\u200bwidth", '"zero\\u{200b}width"'),  # a format character is escaped
    ],
)
def test_rust_debug_of_strings(text: str, debug: str) -> None:
    assert debug_str(text) == debug


# -- skip reasons ---------------------------------------------------------------------------


def test_skip_reason_constructors_and_messages() -> None:
    cases = [
        (SkipReason.content_too_large(50000, 8192), ContentTooLarge,
         "content too large: 50000 bytes (max 8192)"),
        (SkipReason.invalid_encoding("UTF-16BE"), InvalidEncoding, "invalid encoding: UTF-16BE"),
        (SkipReason.content_deleted(), ContentDeleted, "content deleted"),
        (SkipReason.permanent_api_error("rate limit exceeded"), PermanentApiError,
         "permanent API error: rate limit exceeded"),
        (SkipReason.manual_skip("deprecated content"), ManualSkip,
         "manually skipped: deprecated content"),
    ]  # fmt: skip
    for reason, kind, message in cases:
        assert type(reason) is kind
        assert isinstance(reason, SkipReason)
        assert str(reason) == message


def test_skip_reasons_are_values() -> None:
    assert SkipReason.content_too_large(1, 2) == ContentTooLarge(size=1, max=2)
    assert SkipReason.manual_skip("a") != SkipReason.permanent_api_error("a")
    assert len({ContentDeleted(), ContentDeleted()}) == 1
    with pytest.raises(ValueError, match="ContentTooLarge.size"):
        SkipReason.content_too_large(-1, 2)
    with pytest.raises(TypeError, match="ManualSkip.reason"):
        SkipReason.manual_skip(3)  # type: ignore[arg-type]


def test_skip_reason_fixture(load_fixture: Any) -> None:
    payloads = load_fixture("skip_reasons.json")
    expected = [
        ContentTooLarge(50000, 8192),
        InvalidEncoding("UTF-16BE"),
        ContentDeleted(),
        PermanentApiError("quota exceeded"),
        ManualSkip("deprecated"),
    ]
    assert [SkipReason.from_dict(payload) for payload in payloads] == expected
    assert [reason.to_dict() for reason in expected] == payloads


def test_skip_reason_reads_pascal_case_and_unit_as_null() -> None:
    assert SkipReason.from_dict({"ContentTooLarge": {"size": 10, "max": 5}}) == ContentTooLarge(
        10, 5
    )
    assert SkipReason.from_dict({"content_deleted": None}) == ContentDeleted()
    assert ManualSkip.from_dict({"manual_skip": "x"}) == ManualSkip("x")
    with pytest.raises(ValueError, match="expected ManualSkip"):
        ManualSkip.from_dict("content_deleted")


@pytest.mark.parametrize(
    ("payload", "error", "match"),
    [
        (7, TypeError, "SkipReason must be a string or a one-key object"),
        ("too_big", ValueError, "unknown variant 'too_big'.*content_too_large"),
        ({"content_too_large": {"size": 1}}, ValueError, "missing field 'max'"),
        ({"content_too_large": [1, 2]}, TypeError, "must be a JSON object"),
        ({"content_too_large": {"size": 1, "max": -2}}, ValueError, r"content_too_large'\.max"),
        ({"invalid_encoding": 5}, TypeError, "must be a string"),
        ("invalid_encoding", ValueError, "needs a string value"),
        ({"content_deleted": "now"}, ValueError, "takes no value"),
        ({"manual_skip": "a", "content_deleted": None}, ValueError, "exactly one key"),
    ],
)
def test_skip_reason_rejects_malformed_payloads(
    payload: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        SkipReason.from_dict(payload)


# -- states as JSON -------------------------------------------------------------------------

CANONICAL_STATES = [
    Planned(),
    InProgress(3, 10, 1),
    Paused(3, 10, 1, "maintenance window"),
    Completed(12, 1, 5.5),
    Failed(3, 10, 0, "connection lost"),
    Cancelled(0, 10, 0),
]


def test_state_fixture_reads_and_writes_exactly(load_fixture: Any) -> None:
    payloads = load_fixture("migration_states.json")
    assert [MigrationState.from_dict(payload) for payload in payloads] == CANONICAL_STATES
    assert [state.to_dict() for state in CANONICAL_STATES] == payloads


def test_state_json_is_byte_identical_to_serde_json() -> None:
    compact = [json.dumps(state.to_dict(), separators=(",", ":")) for state in CANONICAL_STATES]
    assert compact == [
        '"planned"',
        '{"in_progress":{"processed":3,"total":10,"skipped":1}}',
        '{"paused":{"processed":3,"total":10,"skipped":1,"reason":"maintenance window"}}',
        '{"completed":{"processed":12,"skipped":1,"duration_secs":5.5}}',
        '{"failed":{"processed":3,"total":10,"skipped":0,"error":"connection lost"}}',
        '{"cancelled":{"processed":0,"total":10,"skipped":0}}',
    ]


def test_old_payloads_read_with_pascal_case_and_without_skipped(load_fixture: Any) -> None:
    states = [MigrationState.from_dict(p) for p in load_fixture("migration_states_legacy.json")]
    assert states == [
        Planned(),
        Planned(),
        InProgress(42, 100, 0),
        Paused(42, 100, 0, "break"),
        Completed(100, 0, 12.0),
        Failed(7, 100, 0, "boom"),
        Cancelled(7, 100, 0),
        InProgress(1, 2, 0),
        Completed(2, 0, 0.25),
    ]
    # Written back, they take today's form.
    assert states[2].to_dict() == {"in_progress": {"processed": 42, "total": 100, "skipped": 0}}


def test_unknown_fields_are_ignored_like_serde() -> None:
    payload = {"in_progress": {"processed": 1, "total": 2, "skipped": 0, "note": "extra"}}
    assert MigrationState.from_dict(payload) == InProgress(1, 2, 0)


def test_from_dict_on_a_state_class_checks_the_variant() -> None:
    assert Paused.from_dict({"paused": {"processed": 1, "total": 2, "reason": "r"}}) == Paused(
        1, 2, 0, "r"
    )
    with pytest.raises(ValueError, match="expected Paused, got MigrationState 'in_progress'"):
        Paused.from_dict({"in_progress": {"processed": 1, "total": 2}})


@pytest.mark.parametrize(
    ("payload", "error", "match"),
    [
        (42, TypeError, "MigrationState must be a string or a one-key object, got number 42"),
        ([], TypeError, "got an array"),
        ({}, ValueError, "exactly one key"),
        ({"planned": None, "paused": None}, ValueError, "exactly one key"),
        ("finished", ValueError, "unknown variant 'finished', expected one of: planned, in_progress"),
        ("in_progress", TypeError, "MigrationState 'in_progress' must be a JSON object, got a bare"),
        ({"planned": {"x": 1}}, ValueError, "'planned' takes no value"),
        ({"in_progress": {"processed": 3}}, ValueError, "'in_progress': missing field 'total'"),
        ({"in_progress": {"processed": -1, "total": 3}}, ValueError, r"'in_progress'\.processed"),
        ({"in_progress": {"processed": 2**64, "total": 3}}, ValueError, "below 2\\*\\*64"),
        ({"in_progress": {"processed": "3", "total": 3}}, TypeError, "got string '3'"),
        ({"in_progress": {"processed": 3.0, "total": 3}}, TypeError, "got number 3.0"),
        ({"in_progress": {"processed": True, "total": 3}}, TypeError, "got boolean true"),
        ({"in_progress": {"processed": 1, "total": 3, "skipped": None}}, TypeError, "skipped"),
        ({"paused": {"processed": 1, "total": 3}}, ValueError, "missing field 'reason'"),
        ({"failed": {"processed": 1, "total": 3, "error": 500}}, TypeError, r"\.error must be"),
        ({"completed": {"processed": 1, "duration_secs": "5"}}, TypeError, "duration_secs"),
        ({"completed": {"processed": 1, "duration_secs": None}}, TypeError, "got null"),
        ({"completed": {"processed": 1}}, ValueError, "missing field 'duration_secs'"),
        ({"cancelled": {"total": 3}}, ValueError, "missing field 'processed'"),
    ],
)  # fmt: skip
def test_state_rejects_malformed_payloads(
    payload: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        MigrationState.from_dict(payload)


# -- plan and progress ----------------------------------------------------------------------


def test_plan_fixture(load_fixture: Any) -> None:
    payload = load_fixture("migration_plan.json")
    plan = MigrationPlan.from_dict(payload)
    assert plan == MigrationPlan(
        id="mig-001",
        source_model=EmbeddingModel.BGE_SMALL_EN_V15,
        target_model=EmbeddingModel.BGE_BASE_EN_V15,
        total_embeddings=1000,
        batch_size=100,
        created_at="2026-01-27T00:00:00Z",
    )
    assert plan.to_dict() == payload


def test_plan_reads_pascal_case_models_and_ignores_unknown_fields(load_fixture: Any) -> None:
    plan = MigrationPlan.from_dict(load_fixture("migration_plan_pascal_models.json"))
    assert plan.source_model is EmbeddingModel.ALL_MINILM_L6_V2
    assert plan.target_model is EmbeddingModel.QWEN3_EMBEDDING_0_6B
    assert plan.to_dict()["target_model"] == "qwen3_embedding0_6_b"


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"total_embeddings": -1}, ValueError, "MigrationPlan.total_embeddings"),
        ({"batch_size": "100"}, TypeError, "MigrationPlan.batch_size"),
        ({"source_model": "bge-small-en-v1.5"}, ValueError, "EmbeddingModel: unknown variant"),
        ({"id": None}, TypeError, "MigrationPlan.id must be a string"),
        ({"created_at": 20260127}, TypeError, "MigrationPlan.created_at"),
    ],
)
def test_plan_rejects_malformed_payloads(
    load_fixture: Any, change: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        MigrationPlan.from_dict({**load_fixture("migration_plan.json"), **change})


def test_plan_missing_field_is_named(load_fixture: Any) -> None:
    payload = load_fixture("migration_plan.json")
    del payload["target_model"]
    with pytest.raises(ValueError, match="MigrationPlan: missing field 'target_model'"):
        MigrationPlan.from_dict(payload)


def test_plan_constructor_checks_types() -> None:
    with pytest.raises(TypeError, match="MigrationPlan.source_model must be an EmbeddingModel"):
        MigrationPlan("x", 384, EmbeddingModel.BGE_BASE_EN_V15, 1, 1, "t")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="MigrationPlan.total_embeddings"):
        MigrationPlan("x", "bge-small", "bge-base", True, 1, "t")


def test_plan_takes_model_names_as_parse_reads_them() -> None:
    plan = MigrationPlan("x", "bge-small", "BAAI/bge-base-en-v1.5", 1, 1, "t")
    assert plan.source_model is EmbeddingModel.BGE_SMALL_EN_V15
    assert plan.target_model is EmbeddingModel.BGE_BASE_EN_V15
    assert plan == MigrationPlan("x", EmbeddingModel.BGE_SMALL_EN_V15,
                                 EmbeddingModel.BGE_BASE_EN_V15, 1, 1, "t")
    assert plan.to_dict()["source_model"] == "bge_small_en_v15"  # stored as the model, not text
    # The serde spelling is not a name parse reads: refused, naming the field and the model.
    with pytest.raises(ValueError, match="MigrationPlan.source_model: unknown embedding model: "
                                         "'bge_small_en_v15'. Did you mean 'bge-small-en-v1.5'"):
        MigrationPlan("x", "bge_small_en_v15", "bge-base", 1, 1, "t")


def test_progress_fixtures(load_fixture: Any) -> None:
    payload = load_fixture("migration_progress_in_progress.json")
    report = MigrationProgress.from_dict(payload)
    assert report == MigrationProgress(
        migration_id="mig-001",
        state=InProgress(200, 1000, 50),
        skipped=50,
        effective_total=950,
        effective_coverage=200 / 950,
        throughput=40.0,
        eta_secs=18.75,
        error_count=2,
    )
    assert report.to_dict() == payload

    payload = load_fixture("migration_progress_completed.json")
    report = MigrationProgress.from_dict(payload)
    assert (report.state, report.eta_secs, report.effective_total) == (
        Completed(100, 5, 5.5),
        None,
        95,
    )
    assert json.dumps(report.to_dict(), separators=(",", ":")) == (
        '{"migration_id":"test","state":{"completed":{"processed":100,"skipped":5,'
        '"duration_secs":5.5}},"skipped":5,"effective_total":95,"effective_coverage":1.0,'
        '"throughput":18.2,"eta_secs":null,"error_count":1}'
    )


def test_old_progress_payload_defaults_the_skip_fields(load_fixture: Any) -> None:
    report = MigrationProgress.from_dict(load_fixture("migration_progress_legacy.json"))
    assert report.state == InProgress(10, 40, 0)
    assert (report.skipped, report.effective_total, report.effective_coverage) == (0, 0, 0.0)
    assert report.eta_secs is None  # an absent Option reads as None
    assert (report.throughput, report.error_count) == (2.5, 0)


def test_non_finite_floats_are_written_as_null_like_serde_json() -> None:
    report = MigrationProgress("m", Planned(), 0, 0, 1.0, math.inf, math.nan, 0)
    assert report.to_dict()["throughput"] is None
    assert report.to_dict()["eta_secs"] is None


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"throughput": None}, TypeError, "MigrationProgress.throughput"),
        ({"state": "paused"}, TypeError, "MigrationState 'paused' must be a JSON object"),
        ({"error_count": -3}, ValueError, "MigrationProgress.error_count"),
        ({"eta_secs": "soon"}, TypeError, "MigrationProgress.eta_secs"),
    ],
)
def test_progress_rejects_malformed_payloads(
    load_fixture: Any, change: dict[str, object], error: type[Exception], match: str
) -> None:
    payload = {**load_fixture("migration_progress_in_progress.json"), **change}
    with pytest.raises(error, match=match):
        MigrationProgress.from_dict(payload)


# -- round trips of arbitrary values --------------------------------------------------------

counts = st.integers(min_value=0, max_value=2**64 - 1)
texts = st.text()
finite = st.floats(allow_nan=False, allow_infinity=False)
models = st.sampled_from(list(EmbeddingModel))

states = st.one_of(
    st.builds(Planned),
    st.builds(InProgress, counts, counts, counts),
    st.builds(Paused, counts, counts, counts, texts),
    st.builds(Completed, counts, counts, finite),
    st.builds(Failed, counts, counts, counts, texts),
    st.builds(Cancelled, counts, counts, counts),
)
skip_reasons = st.one_of(
    st.builds(ContentTooLarge, counts, counts),
    st.builds(InvalidEncoding, texts),
    st.builds(ContentDeleted),
    st.builds(PermanentApiError, texts),
    st.builds(ManualSkip, texts),
)
plans = st.builds(MigrationPlan, texts, models, models, counts, counts, texts)
progress_reports = st.builds(
    MigrationProgress, texts, states, counts, counts, finite, finite, st.none() | finite, counts
)


def through_json(value: Any) -> Any:
    return json.loads(json.dumps(value.to_dict()))


@given(states)
def test_every_state_round_trips_through_json(state: MigrationState) -> None:
    assert MigrationState.from_dict(through_json(state)) == state
    assert type(state).from_dict(through_json(state)) == state


@given(skip_reasons)
def test_every_skip_reason_round_trips_through_json(reason: SkipReason) -> None:
    assert SkipReason.from_dict(through_json(reason)) == reason


@given(plans)
def test_every_plan_round_trips_through_json(plan: MigrationPlan) -> None:
    assert MigrationPlan.from_dict(through_json(plan)) == plan


@given(progress_reports)
def test_every_progress_report_round_trips_through_json(report: MigrationProgress) -> None:
    assert MigrationProgress.from_dict(through_json(report)) == report


def test_values_pickle_for_worker_processes() -> None:
    values: list[object] = [
        *CANONICAL_STATES,
        SkipReason.content_too_large(1, 2),
        MigrationPlan(
            "m", EmbeddingModel.BGE_SMALL_EN_V15, EmbeddingModel.BGE_BASE_EN_V15, 1, 1, "t"
        ),
        EmbeddingModel.QWEN3_EMBEDDING_0_6B,
    ]
    for value in values:
        assert pickle.loads(pickle.dumps(value)) == value


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize(
    ("reader", "payload", "where"),
    [
        (MigrationProgress.from_dict, lambda v: {"migration_id": "m", "state": "planned",
                                                 "throughput": 1.0, "eta_secs": v,
                                                 "error_count": 0}, "MigrationProgress.eta_secs"),
        (MigrationProgress.from_dict, lambda v: {"migration_id": "m", "state": "planned",
                                                 "throughput": v, "error_count": 0},
         "MigrationProgress.throughput"),
        (MigrationProgress.from_dict, lambda v: {"migration_id": "m", "state": "planned",
                                                 "throughput": 1.0, "effective_coverage": v,
                                                 "error_count": 0},
         "MigrationProgress.effective_coverage"),
        (MigrationState.from_dict, lambda v: {"completed": {"processed": 1, "skipped": 0,
                                                            "duration_secs": v}},
         "MigrationState 'completed'.duration_secs"),
    ],
    ids=["eta_secs", "throughput", "effective_coverage", "duration_secs"],
)
def test_from_dict_refuses_numbers_that_cannot_be_written_back(
    reader: Any, payload: Any, where: str, bad: float
) -> None:
    """json.loads reads NaN, Infinity and 1e400 as floats; serde_json refuses them, and to_dict
    would write them as null (an eta of -inf came back as None). Refused, naming the field."""
    with pytest.raises(ValueError, match=rf"{re.escape(where)} must be a finite number, got {bad}"):
        reader(payload(bad))
    text = json.dumps(payload(bad))
    with pytest.raises(ValueError, match="must be a finite number"):
        reader(json.loads(text))
    assert reader(payload(2.5)).to_dict() is not None  # finite values still read


def test_a_json_number_beyond_f64_is_refused() -> None:
    payload = json.loads('{"completed": {"processed": 1, "skipped": 0, "duration_secs": 1e400}}')
    with pytest.raises(ValueError, match="duration_secs must be a finite number, got inf"):
        MigrationState.from_dict(payload)
