"""Supervised loops: classification at and just outside every band edge, ADC maths."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doorctl.hal.supervised import (
    PARALLEL_FIRST,
    SERIAL_FIRST,
    SERIAL_FIRST_RESISTORS,
    SupervisedState,
    Wiring,
    adc_to_resistance,
    bands,
    classify,
    resistance_to_adc,
)

CLOSED, OPEN, CUT, SHORT = (
    SupervisedState.CLOSED,
    SupervisedState.OPEN,
    SupervisedState.CUT,
    SupervisedState.SHORT,
)
ALL_WIRINGS = [Wiring(PARALLEL_FIRST)] + [Wiring(SERIAL_FIRST, r) for r in SERIAL_FIRST_RESISTORS]

# Nominal loop resistances worked out from the circuits (see supervised.py):
# parallel first: 4.7k in series, 22k across the contact; serial first: contact in
# series with R, the other R across both.
NOMINAL = {
    Wiring(PARALLEL_FIRST): (4700, 26700),
    Wiring(SERIAL_FIRST, 1000): (500, 1000),
    Wiring(SERIAL_FIRST, 2200): (1100, 2200),
    Wiring(SERIAL_FIRST, 4700): (2350, 4700),
    Wiring(SERIAL_FIRST, 10000): (5000, 10000),
}


@pytest.mark.parametrize("wiring", ALL_WIRINGS)
def test_nominal_values(wiring):
    closed, open_ = NOMINAL[wiring]
    assert classify(closed, wiring) == CLOSED
    assert classify(open_, wiring) == OPEN
    assert classify(0, wiring) == SHORT
    assert classify(math.inf, wiring) == CUT


@pytest.mark.parametrize("wiring", ALL_WIRINGS)
def test_bands_are_fifteen_percent_and_do_not_overlap(wiring):
    closed, open_ = bands(wiring)
    assert (closed.state, open_.state) == (CLOSED, OPEN)
    assert closed.low == pytest.approx(NOMINAL[wiring][0] * 0.85)
    assert open_.high == pytest.approx(NOMINAL[wiring][1] * 1.15)
    assert closed.high < open_.low


# (wiring, ohms, state) at each band edge and 0.5 % outside it, written out as numbers
EDGE_TABLE = [
    (Wiring(PARALLEL_FIRST), 3995, CLOSED),
    (Wiring(PARALLEL_FIRST), 3975, SHORT),
    (Wiring(PARALLEL_FIRST), 5405, CLOSED),
    (Wiring(PARALLEL_FIRST), 5432, CUT),
    (Wiring(PARALLEL_FIRST), 22695, OPEN),
    (Wiring(PARALLEL_FIRST), 22580, CUT),
    (Wiring(PARALLEL_FIRST), 30705, OPEN),
    (Wiring(PARALLEL_FIRST), 30860, CUT),
    (Wiring(SERIAL_FIRST, 1000), 425, CLOSED),
    (Wiring(SERIAL_FIRST, 1000), 422, SHORT),
    (Wiring(SERIAL_FIRST, 1000), 575, CLOSED),
    (Wiring(SERIAL_FIRST, 1000), 578, CUT),
    (Wiring(SERIAL_FIRST, 1000), 850, OPEN),
    (Wiring(SERIAL_FIRST, 1000), 845, CUT),
    (Wiring(SERIAL_FIRST, 1000), 1150, OPEN),
    (Wiring(SERIAL_FIRST, 1000), 1156, CUT),
    (Wiring(SERIAL_FIRST, 10000), 4250, CLOSED),
    (Wiring(SERIAL_FIRST, 10000), 4228, SHORT),
    (Wiring(SERIAL_FIRST, 10000), 5750, CLOSED),
    (Wiring(SERIAL_FIRST, 10000), 5780, CUT),
    (Wiring(SERIAL_FIRST, 10000), 8500, OPEN),
    (Wiring(SERIAL_FIRST, 10000), 8457, CUT),
    (Wiring(SERIAL_FIRST, 10000), 11500, OPEN),
    (Wiring(SERIAL_FIRST, 10000), 11558, CUT),
]


@pytest.mark.parametrize("wiring, ohms, state", EDGE_TABLE)
def test_edge_table(wiring, ohms, state):
    assert classify(ohms, wiring) == state


@pytest.mark.parametrize("wiring", ALL_WIRINGS)
def test_every_band_edge_and_just_outside(wiring):
    table = bands(wiring)
    for band in table:
        assert classify(band.low, wiring) == band.state
        assert classify(band.high, wiring) == band.state
        assert classify(band.low * 0.999, wiring).tamper
        assert classify(band.high * 1.001, wiring).tamper


def test_tamper_flag():
    assert CUT.tamper and SHORT.tamper
    assert not CLOSED.tamper and not OPEN.tamper


def test_nan_reading_is_cut():
    assert classify(math.nan, Wiring()) == CUT


@pytest.mark.parametrize("bad", [("series_first", 1000), (SERIAL_FIRST, 3300)])
def test_invalid_wiring_is_refused(bad):
    with pytest.raises(ValueError):
        Wiring(*bad)


@given(st.floats(min_value=0) | st.just(math.nan), st.sampled_from(ALL_WIRINGS))
def test_classify_is_total(ohms, wiring):
    assert classify(ohms, wiring) in SupervisedState


def test_adc_divider_maths():
    # 10k pull-up to Vref: a 10k loop sits at half scale, code 512
    assert adc_to_resistance(512, 10000, vref=3.3) == pytest.approx(10000)
    assert adc_to_resistance(0, 10000) == 0
    assert adc_to_resistance(1023, 10000) == math.inf
    # pull-up fed from 5 V while the ADC reference is 3.3 V: 2.5 V at the input
    code = round(2.5 / 3.3 * 1024)
    assert adc_to_resistance(code, 10000, vref=3.3, supply_volts=5.0) == pytest.approx(
        10000, rel=0.01
    )


@pytest.mark.parametrize("wiring", ALL_WIRINGS)
def test_adc_round_trip_keeps_the_state(wiring):
    for ohms, state in zip(NOMINAL[wiring], (CLOSED, OPEN), strict=True):
        code = resistance_to_adc(ohms, 10000)
        assert classify(adc_to_resistance(code, 10000), wiring) == state
    assert classify(adc_to_resistance(resistance_to_adc(math.inf, 10000), 10000), wiring) == CUT
