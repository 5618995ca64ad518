"""Fuzzing the architecture parsers (nb201, nats-sss) and the selection syntax: valid strings
round-trip, and any other text either parses to a valid architecture or raises a one-line,
length-bounded ArchError (never another exception, never the whole input echoed back)."""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zcbench.errors import ArchError, ZCBenchError
from zcbench.models.cells import CELL_OPS
from zcbench.spaces.nats_sss import CANDIDATES
from zcbench.spaces.nb201 import format_nb201
from zcbench.tables.selection import parse_selection
from zcbench.types import Arch

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: the longest error message accepted (the nb201 form alone is ~130 characters)
MAX_MESSAGE = 400
#: characters the grammars care about, and some that look like them
SPECIAL = list("|+~:-, \t\n0123456789_") + ["²", "٣", "０", "\u00a0", "\u2028", "\x00", "é"]
WRONG_OPS = ["conv_3x3", "nor_conv_5x5", "None", "skip", "avg_pool", "max_pool_3x3", "", "x" * 300]

nb201_genotypes = st.tuples(*[st.integers(0, len(CELL_OPS) - 1)] * 6)
sss_widths = st.tuples(*[st.sampled_from(CANDIDATES)] * 5)
noise = st.text(st.sampled_from(SPECIAL + list("abnorecvkip")), max_size=120)


@st.composite
def mutated(draw, valid):
    """A valid string with 1-4 edits: characters dropped, duplicated, inserted or swapped, a
    wrong operation, an out-of-range number, whitespace, or a very long run of digits."""
    text = draw(valid)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["drop", "dup", "insert", "swap", "op", "number", "long"]))
        i = draw(st.integers(0, max(len(text) - 1, 0)))
        if kind == "drop":
            text = text[:i] + text[i + 1 :]
        elif kind == "dup":
            text = text[:i] + text[i : i + 1] * 2 + text[i + 1 :]
        elif kind == "insert":
            text = text[:i] + draw(st.sampled_from(SPECIAL)) + text[i:]
        elif kind == "swap" and len(text) > 1:
            j = draw(st.integers(0, len(text) - 1))
            chars = list(text)
            chars[i], chars[j] = chars[j], chars[i]
            text = "".join(chars)
        elif kind == "op":
            op = draw(st.sampled_from(CELL_OPS))
            text = text.replace(op, draw(st.sampled_from(WRONG_OPS)), 1)
        elif kind == "number":
            number = str(draw(st.integers(0, 10**30)))
            text = text[:i] + number + text[i + 1 :]
        elif kind == "long":  # int() refuses strings of over 4,300 digits
            text = text[:i] + "9" * draw(st.integers(4_000, 6_000)) + text[i:]
    return text


def _outcome(parse, text):
    """What ``parse(text)`` gives: the value, or None after checking its error."""
    try:
        return parse(text)
    except ZCBenchError as exc:
        assert isinstance(exc, ArchError), type(exc)
        message = str(exc)
        assert message and len(message.splitlines()) == 1 and "\n" not in message, message
        assert len(message) <= MAX_MESSAGE, message
        return None


# -- nb201 --------------------------------------------------------------------------------


@FUZZ
@given(nb201_genotypes, st.sampled_from(["", " ", "\t", "\n", "  \n"]))
def test_nb201_round_trip(nb201, g, pad):
    arch = Arch("nb201", g)
    text = nb201.to_str(arch)
    assert text == format_nb201(g)
    assert nb201.parse(pad + text + pad) == arch


def _check_nb201(nb201, text):
    arch = _outcome(nb201.parse, text)
    if arch is not None:  # only the official string parses, trimmed (leading zeros allowed)
        assert nb201.validate(arch) == arch
        assert nb201.to_str(arch) == re.sub(r"~0+(?=[0-9])", "~", text.strip())


@FUZZ
@given(mutated(nb201_genotypes.map(format_nb201)))
def test_nb201_mutated_strings(nb201, text):
    _check_nb201(nb201, text)


@FUZZ
@given(st.one_of(st.text(max_size=200), noise))
def test_nb201_arbitrary_text(nb201, text):
    _check_nb201(nb201, text)


# -- nats-sss -----------------------------------------------------------------------------


def _sss_str(widths):
    return ":".join(str(w) for w in widths)


@FUZZ
@given(sss_widths, st.sampled_from(["", " ", "\t", "\n"]))
def test_sss_round_trip(sss, w, pad):
    arch = Arch("nats-sss", w)
    assert sss.to_str(arch) == _sss_str(w)
    assert sss.parse(pad + _sss_str(w) + pad) == arch
    assert sss.parse(" : ".join(str(x) for x in w)) == arch  # spaces around ':' are allowed


def _check_sss(sss, text):
    arch = _outcome(sss.parse, text)
    if arch is not None:  # widths in ASCII digits (leading zeros and spaces allowed)
        assert sss.validate(arch) == arch
        parts = [p.strip() for p in text.strip().split(":")]
        assert all(p.isascii() and p.isdigit() for p in parts), text
        assert tuple(int(p) for p in parts) == arch.genotype


@FUZZ
@given(mutated(sss_widths.map(_sss_str)))
def test_sss_mutated_strings(sss, text):
    _check_sss(sss, text)


@FUZZ
@given(st.one_of(st.text(max_size=200), noise))
def test_sss_arbitrary_text(sss, text):
    _check_sss(sss, text)


# -- selections ---------------------------------------------------------------------------


def _items(space_size, official):
    index = st.integers(0, space_size - 1)
    return st.one_of(
        index.map(str),
        st.tuples(index, st.integers(0, 30)).map(
            lambda t: f"{t[0]}-{min(t[0] + t[1], space_size - 1)}"
        ),
        official,
    )


def _selections(space_size, official):
    """Valid selections and their mutations, joined from indexes, ranges and strings."""
    valid = st.lists(_items(space_size, official), min_size=1, max_size=5).map(",".join)
    return st.one_of(valid, mutated(valid), st.text(max_size=100), noise)


def _check_selection(space, text):
    archs = _outcome(lambda t: parse_selection(space, t), text)
    if archs is not None:
        assert archs and len(set(archs)) == len(archs)
        assert all(space.validate(a) == a for a in archs)


@FUZZ
@given(st.lists(st.integers(0, 32_767), min_size=1, max_size=20))
def test_sss_selection_of_indexes_round_trips(sss, indexes):
    archs = parse_selection(sss, " , ".join(str(i) for i in indexes))
    assert [sss.index(a) for a in archs] == list(dict.fromkeys(indexes))
    assert parse_selection(sss, ",".join(sss.to_str(a) for a in archs)) == archs


@FUZZ
@given(_selections(32_768, sss_widths.map(_sss_str)))
def test_sss_selection_fuzz(sss, text):
    _check_selection(sss, text)


@pytest.mark.data
@FUZZ
@given(_selections(15_625, nb201_genotypes.map(format_nb201)))
def test_nb201_selection_fuzz(nb201, text):
    _check_selection(nb201, text)


@pytest.mark.parametrize(
    "text",
    [
        "²:8:8:8:8",  # str.isdigit() says yes, int() says no
        "8:8:8:8:٨",  # Arabic-Indic digit: int() reads it, the grammar should not
        "9" * 5000 + ":8:8:8:8",  # over int()'s 4,300-digit limit
        "|none~" + "9" * 5000 + "|+|none~0|none~1|+|none~0|none~1|none~2|",
        "|none~0\n|+|none~0|none~1|+|none~0|none~1|none~2|",  # '$' matched before '\n'
        "|none~٠|+|none~0|none~1|+|none~0|none~1|none~2|",
        "x" * 3000,  # echoed whole before
    ],
)
def test_parser_regressions(nb201, sss, text):
    assert _outcome(nb201.parse, text) is None
    assert _outcome(sss.parse, text) is None
    assert _outcome(lambda t: parse_selection(sss, t), text) is None


@pytest.mark.parametrize("text", ["²", "٣", "9" * 5000, "1-" + "9" * 5000, "0-" + "²"])
def test_selection_regressions(sss, text):
    assert _outcome(lambda t: parse_selection(sss, t), text) is None
