"""Personal data is masked before it reaches disk: recorded events and
complete events written through Store.write."""

from __future__ import annotations

import pathlib
import re

import traversion

TOKEN = re.compile(r"<email:[0-9a-f]{12}>")


def messages(store: traversion.Store) -> list[str]:
    store.flush()
    return [r[0] for r in store.query("EVENTS message WHERE type = 'log'").rows()]


def test_recorded_logs_are_masked(store: traversion.Store) -> None:
    store.log("signup by Alice.Smith@example.com", password="hunter2",
              card="4111 1111 1111 1111", order_id=12345)
    (message,) = messages(store)
    assert "example.com" not in message and TOKEN.search(message)
    (row,) = store.query("EVENTS id WHERE type = 'log'").rows()
    event = store.get(row[0])
    assert event is not None
    attrs = event["attributes"]
    assert attrs["password"] != "hunter2" and attrs["password"].startswith("<")
    assert "4111" not in attrs["card"]
    assert attrs["order_id"] == 12345  # numbers are never touched
    stats = store.recorder_stats()
    assert stats is not None and stats["masked_values"] >= 3


def test_equal_values_give_equal_tokens_across_reopen(tmp_path: pathlib.Path) -> None:
    with traversion.open(tmp_path / "s") as store:
        store.log("a bob@example.com")
        first = messages(store)[0]
    with traversion.open(tmp_path / "s") as store:
        store.log("a BOB@example.com")  # e-mail addresses are case-blind
        second = messages(store)[1]
    assert first == second  # the store's pii.key is reused


def test_write_masks_unless_told_not_to(store: traversion.Store) -> None:
    event = {"time_ns": 1_000, "log": {"body": "mail carol@example.com"}}
    store.write([event])
    store.write([dict(event, time_ns=2_000)], mask=False)
    masked, clear = messages(store)
    assert TOKEN.search(masked)
    assert clear == "mail carol@example.com"


def test_custom_pattern_and_disabled_masking(tmp_path: pathlib.Path) -> None:
    with traversion.open(tmp_path / "a", pii_patterns={"ssn": r"\d{3}-\d{2}-\d{4}"}) as store:
        store.log("ssn 123-45-6789")
        assert re.fullmatch(r"ssn <ssn:[0-9a-f]{12}>", messages(store)[0])
    with traversion.open(tmp_path / "b", pii=False) as store:
        store.log("dave@example.com")
        assert messages(store) == ["dave@example.com"]
