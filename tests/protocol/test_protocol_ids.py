"""The one id generator: the real shapes, unique, deterministic for a seed."""

from __future__ import annotations

import random

from realtime_harness.protocol.ids import ID_PREFIXES, ID_RE, IdGenerator, new_id


def test_generator_ids_have_the_real_shape_and_never_repeat() -> None:
    make = IdGenerator(random.Random(7))
    ids = [make("event") for _ in range(50_000)]
    assert len(set(ids)) == len(ids)
    assert all(ID_RE.match(i) and len(i) == len("event_") + 21 for i in ids[:100])


def test_generator_is_deterministic_for_a_seed_and_differs_between_seeds() -> None:
    first = [IdGenerator(random.Random(1))("resp") for _ in range(3)]
    again = [IdGenerator(random.Random(1))("resp") for _ in range(3)]
    assert first == again
    assert IdGenerator(random.Random(1))("resp") != IdGenerator(random.Random(2))("resp")


def test_generator_takes_the_random_source_once() -> None:
    rng = random.Random(3)
    make = IdGenerator(rng)
    state = rng.getstate()
    for prefix in ID_PREFIXES.values():
        make(prefix)
    assert rng.getstate() == state


def test_new_id_keeps_its_shape_and_length() -> None:
    rng = random.Random(5)
    assert ID_RE.match(new_id("sess", rng))
    assert len(new_id("sess", rng)) == len("sess_") + 21
    assert len(new_id("call", rng, 16)) == len("call_") + 16
