"""The audit chain's pure rules: canonical JSON, the entry hash, chain verification and
checkpoint parsing. Any change, deletion or reordering of entries must show."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openbureau.audit.rules import (
    CHECKPOINT_MISMATCH,
    GENESIS,
    HASH_MISMATCH,
    OUT_OF_ORDER,
    PREVIOUS_HASH_MISMATCH,
    SEQUENCE_GAP,
    Anchor,
    AuditEntry,
    Checkpoint,
    InvalidCheckpoint,
    canonical_json,
    entry_hash,
    parse_checkpoint,
    utc_iso,
    verify_chain,
)

T0 = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)

# --- canonical JSON ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"b": 1, "a": [1, 2]}, b'{"a":[1,2],"b":1}'),
        ({"z": {"y": None, "x": True}}, b'{"z":{"x":true,"y":null}}'),
        ({"t": (1, "2")}, b'{"t":[1,"2"]}'),
        ({"d": date(2025, 1, 2)}, b'{"d":"2025-01-02"}'),
        (
            {"at": datetime(2025, 1, 2, 8, 0, tzinfo=timezone(timedelta(hours=8)))},
            b'{"at":"2025-01-02T00:00:00.000000Z"}',
        ),
        ({"name": "Zhāng 张"}, '{"name":"Zhāng 张"}'.encode()),
        ({"n": 1.5, "m": -0}, b'{"m":0,"n":1.5}'),
        ([], b"[]"),
    ],
)
def test_canonical_json_forms(value, expected):
    assert canonical_json(value) == expected


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        ({"x": math.nan}, ValueError, "no JSON form"),
        ({"x": math.inf}, ValueError, "no JSON form"),
        ({"x": [1, -math.inf]}, ValueError, r"\$\.x\[1\]"),
        ({"at": datetime(2025, 1, 2)}, ValueError, "time zone"),
        ({1: "a"}, TypeError, "not a string"),
        ({"s": {1, 2}}, TypeError, "set"),
        ({"d": Decimal("1.5")}, TypeError, "Decimal"),
        ({"b": b"raw"}, TypeError, "bytes"),
        ({"s": "\ud800"}, ValueError, "surrogates"),
    ],
)
def test_canonical_json_refuses_what_has_no_single_form(value, error, match):
    with pytest.raises(error, match=match):
        canonical_json(value)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON_VALUES)
def test_canonical_json_round_trips_and_has_no_whitespace_between_tokens(value):
    text = canonical_json(value)
    assert json.loads(text) == value
    assert canonical_json(json.loads(text)) == text


@given(st.dictionaries(st.text(), JSON_VALUES, max_size=8), st.randoms())
def test_canonical_json_ignores_key_order(mapping, rnd):
    keys = list(mapping)
    rnd.shuffle(keys)
    assert canonical_json({k: mapping[k] for k in keys}) == canonical_json(mapping)


def test_utc_iso_takes_naive_moments_as_utc():
    assert utc_iso(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05.000000Z"
    east = datetime(2026, 1, 2, 11, 4, 5, 7, tzinfo=timezone(timedelta(hours=8)))
    assert utc_iso(east) == "2026-01-02T03:04:05.000007Z"


# --- the entry hash ------------------------------------------------------------------------


def test_entry_hash_is_sha256_of_the_documented_canonical_form():
    # The form other verifiers re-implement (docs/audit.md): keep it stable.
    expected = hashlib.sha256(
        b'{"action":"report.read","actor":"anonymous-local",'
        b'"occurred_at":"2026-01-02T03:04:05.000006Z","payload":"{\\"as_of\\":\\"2025-12-31\\"}",'
        b'"prev_hash":"' + GENESIS.encode() + b'","purpose":"subject-or-operator-view",'
        b'"seq":1,"subject_id":"S000001","v":1}'
    ).hexdigest()
    assert (
        entry_hash(
            GENESIS,
            1,
            "2026-01-02T03:04:05.000006Z",
            "anonymous-local",
            "report.read",
            "S000001",
            "subject-or-operator-view",
            '{"as_of":"2025-12-31"}',
        )
        == expected
    )


def test_entry_hash_tells_none_from_empty_and_covers_every_field():
    base = (GENESIS, 1, "t", "a", "x", None, None, "{}")
    hashes = {entry_hash(*base)}
    for i, other in enumerate(("1" * 64, 2, "u", "b", "y", "", "", "[]")):
        changed = list(base)
        changed[i] = other
        hashes.add(entry_hash(*changed))
    assert len(hashes) == 9


# --- chains --------------------------------------------------------------------------------


def build_chain(specs) -> list[AuditEntry]:
    """A valid chain from (actor, action, subject_id, purpose, payload, occurred_at)."""
    entries, prev = [], GENESIS
    for seq, (actor, action, subject_id, purpose, payload, at) in enumerate(specs, start=1):
        text = canonical_json(payload).decode()
        digest = entry_hash(prev, seq, utc_iso(at), actor, action, subject_id, purpose, text)
        entries.append(AuditEntry(seq, at, actor, action, subject_id, purpose, text, prev, digest))
        prev = digest
    return entries


def simple_chain(n: int) -> list[AuditEntry]:
    return build_chain(
        ("anonymous-local", "report.read", f"S{i}", "view", {"i": i}, T0 + timedelta(seconds=i))
        for i in range(n)
    )


def test_an_untouched_chain_verifies():
    chain = simple_chain(5)
    result = verify_chain(chain)
    assert (result.ok, result.checked, result.head_seq) == (True, 5, 5)
    assert result.head_hash == chain[-1].entry_hash
    assert result.first_broken is None and result.reason is None


def test_an_empty_chain_verifies_at_genesis():
    result = verify_chain([])
    assert (result.ok, result.checked, result.head_seq, result.head_hash) == (
        True,
        0,
        0,
        GENESIS,
    )


def _replace(chain, index, **changes):
    out = list(chain)
    out[index] = dataclasses.replace(out[index], **changes)
    return out


#: name: (tampering, first broken seq, reason, entries checked before it)
TAMPERINGS = {
    "payload edited": (lambda c: _replace(c, 2, payload='{"i":99}'), 3, HASH_MISMATCH, 2),
    "actor edited": (lambda c: _replace(c, 0, actor="someone"), 1, HASH_MISMATCH, 0),
    "time edited": (
        lambda c: _replace(c, 4, occurred_at=c[4].occurred_at + timedelta(microseconds=1)),
        5,
        HASH_MISMATCH,
        4,
    ),
    "subject cleared": (lambda c: _replace(c, 1, subject_id=None), 2, HASH_MISMATCH, 1),
    "hash edited": (lambda c: _replace(c, 1, entry_hash="f" * 64), 2, HASH_MISMATCH, 1),
    "last hash edited": (lambda c: _replace(c, 5, entry_hash="f" * 64), 6, HASH_MISMATCH, 5),
    "prev edited": (lambda c: _replace(c, 3, prev_hash="e" * 64), 4, PREVIOUS_HASH_MISMATCH, 3),
    "first prev edited": (
        lambda c: _replace(c, 0, prev_hash="e" * 64),
        1,
        PREVIOUS_HASH_MISMATCH,
        0,
    ),
    "middle deleted": (lambda c: c[:2] + c[3:], 4, SEQUENCE_GAP, 2),
    "first deleted": (lambda c: c[1:], 2, SEQUENCE_GAP, 0),
    # read in the stored order, a swap first shows as a jump ahead
    "two swapped": (lambda c: [c[0], c[2], c[1], *c[3:]], 3, SEQUENCE_GAP, 1),
    "one repeated": (lambda c: [*c[:3], c[2], *c[3:]], 3, OUT_OF_ORDER, 3),
    "one moved back": (lambda c: [*c[:4], c[1], *c[4:]], 2, OUT_OF_ORDER, 4),
    "seq renumbered": (lambda c: _replace(c, 2, seq=4), 4, SEQUENCE_GAP, 2),
    # two rows' seq numbers exchanged, read back in seq order
    "rows' seqs swapped": (
        lambda c: [
            c[0],
            dataclasses.replace(c[2], seq=2),
            dataclasses.replace(c[1], seq=3),
            *c[3:],
        ],
        2,
        PREVIOUS_HASH_MISMATCH,
        1,
    ),
    # changed and given its correct new hash: the next entry still names the old one
    "entry rehashed alone": (
        lambda c: _rehashed(c, 2, payload='{"i":99}'),
        4,
        PREVIOUS_HASH_MISMATCH,
        3,
    ),
}


def _rehashed(chain, index, **changes):
    e = dataclasses.replace(chain[index], **changes)
    digest = entry_hash(
        e.prev_hash, e.seq, utc_iso(e.occurred_at), e.actor, e.action, e.subject_id, e.purpose,
        e.payload,
    )  # fmt: skip
    return _replace(chain, index, **changes, entry_hash=digest)


@pytest.mark.parametrize("name", TAMPERINGS)
def test_each_tampering_names_the_first_broken_entry_and_why(name):
    tamper, first_broken, reason, checked = TAMPERINGS[name]
    result = verify_chain(tamper(simple_chain(6)))
    assert (result.ok, result.first_broken, result.reason) == (False, first_broken, reason)
    assert result.checked == result.head_seq == checked
    assert result.detail


def test_verification_stops_reading_at_the_first_break():
    chain = _replace(simple_chain(5), 1, actor="someone")
    seen = []

    def entries():
        for e in chain:
            seen.append(e.seq)
            yield e
        raise AssertionError("read past the break")

    assert verify_chain(entries()).first_broken == 2
    assert seen == [1, 2]


def test_removing_the_tail_is_caught_only_against_a_checkpoint():
    chain = simple_chain(5)
    checkpoint = Anchor(5, chain[-1].entry_hash)
    assert verify_chain(chain[:3]).ok  # a hash chain alone cannot see a shorter end
    result = verify_chain(chain[:3], checkpoint=checkpoint)
    assert (result.ok, result.first_broken, result.reason) == (False, 5, CHECKPOINT_MISMATCH)
    assert verify_chain(chain, checkpoint=checkpoint).ok
    assert verify_chain(chain, checkpoint=Anchor(3, chain[2].entry_hash)).ok


def test_a_rewritten_chain_is_caught_against_a_checkpoint():
    chain = simple_chain(5)
    checkpoint = Anchor(4, chain[3].entry_hash)
    forged = build_chain(
        ("anonymous-local", "report.read", f"S{i}", "view", {"i": i + (i == 1)}, e.occurred_at)
        for i, e in enumerate(chain)
    )
    assert verify_chain(forged).ok
    result = verify_chain(forged, checkpoint=checkpoint)
    assert (result.ok, result.first_broken, result.reason) == (False, 4, CHECKPOINT_MISMATCH)


# --- properties ------------------------------------------------------------------------------

TEXT = st.text(min_size=1, max_size=12)
MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
SPECS = st.lists(
    st.tuples(
        TEXT,
        TEXT,
        st.none() | TEXT,
        st.none() | TEXT,
        st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3),
        MOMENTS,
    ),
    min_size=1,
    max_size=8,
)
FIELDS = [f.name for f in dataclasses.fields(AuditEntry)]


def _other(value, data):
    """A value of the same field that differs from `value`."""
    if isinstance(value, datetime):
        return data.draw(MOMENTS.filter(lambda m: m != value))
    if isinstance(value, int):
        return data.draw(st.integers(min_value=-5, max_value=20).filter(lambda v: v != value))
    return data.draw((st.none() | st.text(max_size=70)).filter(lambda v: v != value))


@settings(max_examples=300, deadline=None)
@given(SPECS, st.data())
def test_any_change_of_any_field_of_any_entry_is_detected(specs, data):
    chain = build_chain(specs)
    assert verify_chain(chain).ok
    index = data.draw(st.integers(0, len(chain) - 1))
    name = data.draw(st.sampled_from(FIELDS))
    changed = _replace(chain, index, **{name: _other(getattr(chain[index], name), data)})
    result = verify_chain(changed)
    assert not result.ok
    assert result.first_broken is not None and result.checked == index


@settings(max_examples=200, deadline=None)
@given(SPECS.filter(lambda s: len(s) >= 2), st.data())
def test_any_deletion_is_detected(specs, data):
    chain = build_chain(specs)
    checkpoint = Anchor(len(chain), chain[-1].entry_hash)
    index = data.draw(st.integers(0, len(chain) - 1))
    shorter = chain[:index] + chain[index + 1 :]
    assert not verify_chain(shorter, checkpoint=checkpoint).ok
    if index < len(chain) - 1:
        assert not verify_chain(shorter).ok


@settings(max_examples=200, deadline=None)
@given(SPECS.filter(lambda s: len(s) >= 2), st.data())
def test_any_swap_of_two_entries_is_detected(specs, data):
    chain = build_chain(specs)
    i, j = sorted(
        data.draw(st.lists(st.integers(0, len(chain) - 1), min_size=2, max_size=2, unique=True))
    )
    swapped = list(chain)
    swapped[i], swapped[j] = swapped[j], swapped[i]
    assert not verify_chain(swapped).ok
    # the same swap done to the rows' seq numbers, read back in seq order
    renumbered = list(chain)
    renumbered[i] = dataclasses.replace(chain[j], seq=chain[i].seq)
    renumbered[j] = dataclasses.replace(chain[i], seq=chain[j].seq)
    result = verify_chain(renumbered)
    assert (result.ok, result.first_broken) == (False, i + 1)


# --- checkpoints -----------------------------------------------------------------------------

CHECKPOINT = Checkpoint(7, "a" * 64, "2026-01-02T03:04:05.000000Z", "0123456789abcdef", "c2ln")


def test_a_checkpoint_round_trips_through_its_json():
    assert parse_checkpoint(CHECKPOINT.to_json()) == CHECKPOINT
    assert CHECKPOINT.anchor == Anchor(7, "a" * 64)


def test_the_checkpoint_message_covers_every_signed_field():
    messages = {CHECKPOINT.message()}
    for change in ({"seq": 8}, {"entry_hash": "b" * 64}, {"signed_at": "x"}, {"key_id": "k"}):
        messages.add(dataclasses.replace(CHECKPOINT, **change).message())
    assert len(messages) == 5
    assert dataclasses.replace(CHECKPOINT, signature="other").message() == CHECKPOINT.message()


def _fields(**changes):
    data = json.loads(CHECKPOINT.to_json())
    data.update(changes)
    return json.dumps({k: v for k, v in data.items() if v is not ...})


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("not json", "is JSON"),
        ("[1]", "JSON object"),
        (_fields(extra=1), "exactly the fields"),
        (_fields(signature=...), "exactly the fields"),
        (_fields(seq="7"), "seq"),
        (_fields(seq=True), "seq"),
        (_fields(seq=-1), "seq"),
        (_fields(entry_hash=None), "entry_hash must be text"),
        (_fields(algorithm="rsa"), "signed with ed25519"),
        (_fields(type="something.else"), "openbureau.audit.checkpoint"),
    ],
)
def test_a_malformed_checkpoint_is_refused(text, match):
    with pytest.raises(InvalidCheckpoint, match=match):
        parse_checkpoint(text)
