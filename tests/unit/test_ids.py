"""Ids sort in creation order."""

from chalicelib.security.ids import new_id


def test_ids_are_unique_and_sort_in_creation_order() -> None:
    ids = [new_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(len(i) == 26 for i in ids)
