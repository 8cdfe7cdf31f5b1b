"""The per-process cache of checked API keys: kept for its time to live and no longer, never
when turned off, dropped at once by a revocation in the process, and never refilled by a
lookup that began before the revocation."""

import pytest

from openbureau.access.rules import Caller
from openbureau.access.service import KeyCache, forget_checked_keys

ALICE = Caller(party_id="p1", party_kind="lender", key_id="k1", role="inquirer")
BOB = Caller(party_id="p2", party_kind="lender", key_id="k2", role="inquirer")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("ttl", "after", "kept"),
    [(2.0, 0.0, True), (2.0, 1.99, True), (2.0, 2.0, False), (2.0, 5.0, False), (0.0, 0.0, False)],
)
def test_a_checked_key_is_trusted_for_its_time_to_live_only(ttl, after, kept):
    clock = Clock()
    cache = KeyCache(ttl, clock=clock)
    cache.put("obk_k1_secret", ALICE)
    clock.now += after
    assert cache.get("obk_k1_secret") == (ALICE if kept else None)


def test_keys_are_told_apart_by_the_whole_key():
    cache = KeyCache(10)
    cache.put("obk_k1_secret", ALICE)
    assert cache.get("obk_k1_secreT") is None  # same key id, other secret
    assert cache.get("obk_k1_secret") == ALICE


def test_a_revocation_empties_every_cache_in_the_process():
    one, two = KeyCache(60), KeyCache(60)
    one.put("obk_k1_a", ALICE)
    two.put("obk_k2_b", BOB)
    forget_checked_keys()
    assert one.get("obk_k1_a") is None and two.get("obk_k2_b") is None


def test_a_lookup_begun_before_a_revocation_is_not_kept():
    cache = KeyCache(60)
    generation = cache.generation()
    forget_checked_keys()  # the key was revoked while its lookup ran
    cache.put("obk_k1_a", ALICE, generation)
    assert cache.get("obk_k1_a") is None
    cache.put("obk_k1_a", ALICE, cache.generation())
    assert cache.get("obk_k1_a") == ALICE


def test_a_full_cache_starts_again_instead_of_growing():
    cache = KeyCache(60, max_entries=3)
    for i in range(3):
        cache.put(f"obk_k{i}_s", ALICE)
    cache.put("obk_new_s", BOB)
    assert cache.get("obk_new_s") == BOB
    assert [cache.get(f"obk_k{i}_s") for i in range(3)] == [None, None, None]
