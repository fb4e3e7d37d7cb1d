"""Reading bundle specs (mycelium.bundle.spec): the TOML form, and one line for each mistake."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mycelium.bundle import (
    BundleConfigError,
    LocalPlacement,
    SupervisionSpec,
    UnixPlacement,
    load_spec,
    parse_spec,
    spec_from_data,
)

GOOD = """
[bundle]
name = "pair"

[actors.sink]
factory = "bundle_actors:Sink"
capacity = 16
placement = { kind = "unix", socket = "/tmp/x.sock" }
supervision = { strategy = "restart", max_restarts = 2, within = 1.5, backoff = { min = 0.5 } }
args = { scale = 3 }

[actors.relay]
factory = "bundle_actors:Relay"
overflow = "drop_oldest"
args = { target = { ref = "sink" }, add = 1 }
"""


def test_a_spec_reads_every_field() -> None:
    spec = parse_spec(GOOD, source="pair.toml")
    assert spec.name == "pair"
    assert list(spec.actors) == ["sink", "relay"]
    sink, relay = spec.actors["sink"], spec.actors["relay"]
    assert (sink.factory, sink.capacity, sink.args, sink.wires) == (
        "bundle_actors:Sink",
        16,
        {"scale": 3},
        {},
    )
    assert sink.placement == UnixPlacement(socket="/tmp/x.sock")
    assert sink.supervision.strategy == "restart"
    assert sink.supervision.max_restarts == 2
    assert sink.supervision.backoff is not None
    assert (sink.supervision.backoff.min, sink.supervision.backoff.max) == (0.5, 10.0)
    assert relay.wires == {"target": "sink"}
    assert relay.args == {"add": 1}
    assert (relay.capacity, relay.overflow, relay.placement) == (
        1000,
        "drop_oldest",
        LocalPlacement(),
    )
    assert relay.supervision == SupervisionSpec()


def test_the_name_defaults_to_the_file_stem_and_json_specs_read_the_same(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('[actors.a]\nfactory = "m:f"\nplacement = "unix"\n')
    spec = load_spec(path)
    assert spec.name == "mine"
    assert spec.actors["a"].placement == UnixPlacement()
    as_json = tmp_path / "mine.json"
    as_json.write_text('{"actors": {"a": {"factory": "m:f", "placement": "unix"}}}')
    assert load_spec(as_json).actors == spec.actors


BAD: list[tuple[str, str, str]] = [
    (
        "toml_syntax",
        '[actors.a]\nfactory = "m:f"\ncapacity = = 3\n',
        r"^bad\.toml: line 3, column 12: invalid TOML: invalid value$",
    ),
    (
        "schema_bound",
        '[actors.signal]\nfactory = "m:f"\ncapacity = 0\n',
        r"^bad\.toml: actors\.signal\.capacity: expected int >= 1$",
    ),
    (
        "schema_type",
        '[actors.signal]\nfactory = "m:f"\ncapacity = "many"\n',
        r"^bad\.toml: actors\.signal\.capacity: expected int, got str$",
    ),
    (
        "unknown_field",
        '[actors.signal]\nfactory = "m:f"\ncapcity = 3\n',
        r"^bad\.toml: actors\.signal\.capcity: unknown field \(did you mean 'capacity'\?\)$",
    ),
    (
        "unknown_nested_field",
        '[actors.a]\nfactory = "m:f"\nplacement = { kind = "unix", sockett = "/x" }\n',
        r"^bad\.toml: actors\.a\.placement\.sockett: unknown field \(did you mean 'socket'\?\)$",
    ),
    (
        "unknown_top_level",
        '[actor.a]\nfactory = "m:f"\n',
        r"^bad\.toml: actor: unknown field \(did you mean 'actors'\?\)$",
    ),
    (
        "missing_factory",
        "[actors.a]\ncapacity = 3\n",
        r"^bad\.toml: actors\.a: missing required field 'factory'$",
    ),
    (
        "bad_factory_path",
        '[actors.a]\nfactory = "no colon here"\n',
        r'^bad\.toml: actors\.a\.factory: expected an import path "package\.module:callable"$',
    ),
    (
        "two_actors_one_name",
        '[actors.a]\nfactory = "m:f"\n\n[actors.a]\nfactory = "m:g"\n',
        r"^bad\.toml: line 4, column 10: two actors named 'a' \(\[actors\.a\] twice\)$",
    ),
    (
        "bad_overflow",
        '[actors.a]\nfactory = "m:f"\noverflow = "explode"\n',
        r"^bad\.toml: actors\.a\.overflow: invalid enum value 'explode'$",
    ),
    (
        "bad_placement",
        '[actors.a]\nfactory = "m:f"\nplacement = "mars"\n',
        r'^bad\.toml: actors\.a\.placement: invalid enum value \'mars\' \(expected "local", '
        r'"unix", "nats" or a table with a kind\)$',
    ),
    (
        "restart_fields_without_restart",
        '[actors.a]\nfactory = "m:f"\nsupervision = { strategy = "stop", max_restarts = 3 }\n',
        r"^bad\.toml: actors\.a\.supervision\.max_restarts: only meaningful with strategy = "
        r"\"restart\" \(strategy is 'stop'\)$",
    ),
    (
        "bad_backoff",
        '[actors.a]\nfactory = "m:f"\n'
        'supervision = { strategy = "restart", backoff = { jitter = 2 } }\n',
        r"^bad\.toml: actors\.a\.supervision\.backoff\.jitter: expected float <= 1\.0$",
    ),
    (
        "wire_with_other_keys",
        '[actors.a]\nfactory = "m:f"\nargs = { b = { ref = "b", x = 1 } }\n',
        r"^bad\.toml: actors\.a\.args\.b: a wire is written \{ ref = \"actor\" \} with no other "
        r"key \(found 'x'\)$",
    ),
    (
        "bad_name",
        '[actors.Signal]\nfactory = "m:f"\n',
        r"^bad\.toml: actors\.Signal: an actor name is a lowercase letter followed by",
    ),
    ("no_actors", "[bundle]\nname = 'x'\n", r"^bad\.toml: missing required field 'actors'$"),
]


@pytest.mark.parametrize(
    ("text", "message"), [(t, m) for _, t, m in BAD], ids=[i for i, _, _ in BAD]
)
def test_a_bad_spec_is_one_line_naming_the_key(text: str, message: str) -> None:
    with pytest.raises(BundleConfigError) as caught:
        parse_spec(text, source="bad.toml")
    text_of = str(caught.value)
    assert "\n" not in text_of
    assert re.search(message, text_of), text_of


def test_an_empty_actors_table_is_refused() -> None:
    with pytest.raises(BundleConfigError, match=r"^x: actors: a bundle needs at least one actor$"):
        spec_from_data({"actors": {}}, source="x")


def test_an_unreadable_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(BundleConfigError, match=r"nope\.toml: cannot read the file: No such file"):
        load_spec(tmp_path / "nope.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe[actors]")
    with pytest.raises(BundleConfigError, match=r"binary\.toml: not UTF-8 text \(byte 0\)"):
        load_spec(binary)
