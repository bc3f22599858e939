"""Supervised inputs: classify an end-of-line resistor loop as closed, open, cut or short.

A supervised loop has two end-of-line resistors at the contact, so the controller
sees a known resistance for "contact closed" and another for "contact open", and
anything else means someone cut the cable (very high resistance) or shorted it
(near 0 Ω). The manual names two connections:

Parallel first (4.7 kΩ and 22 kΩ). The contact is bridged by one resistor and the
pair is in series with the other. Of the two ways to place them, only "22 kΩ across
the contact, 4.7 kΩ in series" gives well separated states: closed = 4.7 kΩ,
open = 4.7 + 22 = 26.7 kΩ (ratio 5.7). The other way round (closed = 22 kΩ,
open = 26.7 kΩ, ratio 1.2) would leave the two ±15 % bands overlapping, so it
cannot be what the manual means; this is also the common dual-EOL practice of a
small series resistor and a large one across the contact.

Serial first (two equal resistors R of 1, 2.2, 4.7 or 10 kΩ). The contact is in
series with one resistor and the other is across the pair, which is the only other
two-resistor circuit that tells cut from open: closed = R ∥ R = R/2, open = R.
(Putting a resistor across the contact and one in series is the parallel-first
circuit again, whatever the order on the cable.)

Tolerance: each state is a band of ±15 % around its nominal value, covering 5 %
resistors, cable resistance (200 m of AWG 24 is ~34 Ω per leg) and the 10-bit ADC's
quantisation. Outside every band the loop is in a tamper state: "short" below the
closed band, "cut" anywhere else, including between the closed and open bands,
because a loop that matches neither installed state has been interfered with and
the safe answer is an alarm, not a guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

TOLERANCE = 0.15
PARALLEL_FIRST = "parallel_first"
SERIAL_FIRST = "serial_first"
SERIAL_FIRST_RESISTORS = (1000.0, 2200.0, 4700.0, 10000.0)
PARALLEL_FIRST_SERIES = 4700.0  # in series with the contact and its bridge
PARALLEL_FIRST_BRIDGE = 22000.0  # across the contact
ADC_FULL_SCALE = 1024  # MCP3008: code = 1024 * Vin / Vref, 0..1023


class SupervisedState(StrEnum):
    """The four states of a supervised loop; cut and short are tamper states."""

    CLOSED = "closed"
    OPEN = "open"
    CUT = "cut"
    SHORT = "short"

    @property
    def tamper(self) -> bool:
        """True for the states that mean someone interfered with the loop."""
        return self in (SupervisedState.CUT, SupervisedState.SHORT)


@dataclass(frozen=True)
class Wiring:
    """How the end-of-line resistors are connected, as chosen in the I/O settings."""

    connection: str = PARALLEL_FIRST
    resistor_ohms: float = PARALLEL_FIRST_SERIES

    def __post_init__(self):
        if self.connection not in (PARALLEL_FIRST, SERIAL_FIRST):
            raise ValueError(f"connection must be {PARALLEL_FIRST} or {SERIAL_FIRST}")
        if self.connection == SERIAL_FIRST and self.resistor_ohms not in SERIAL_FIRST_RESISTORS:
            raise ValueError("serial first resistors must be 1000, 2200, 4700 or 10000 ohms")

    def nominal(self) -> dict[SupervisedState, float]:
        """The loop resistance the controller should see with the contact closed and open."""
        if self.connection == PARALLEL_FIRST:
            closed = PARALLEL_FIRST_SERIES
            return {
                SupervisedState.CLOSED: closed,
                SupervisedState.OPEN: closed + PARALLEL_FIRST_BRIDGE,
            }
        r = self.resistor_ohms
        return {SupervisedState.CLOSED: r / 2, SupervisedState.OPEN: r}


@dataclass(frozen=True)
class Band:
    """Resistances from `low` to `high` ohms (both inclusive) read as `state`."""

    state: SupervisedState
    low: float
    high: float

    def contains(self, ohms: float) -> bool:
        """True when `ohms` is inside the band, edges included."""
        return self.low <= ohms <= self.high


def bands(wiring: Wiring, tolerance: float = TOLERANCE) -> tuple[Band, ...]:
    """The closed and open bands for a wiring, lowest first."""
    # rounded so that an edge written as a plain number (30705 Ω) is inside its band
    return tuple(
        Band(state, round(ohms * (1 - tolerance), 6), round(ohms * (1 + tolerance), 6))
        for state, ohms in sorted(wiring.nominal().items(), key=lambda item: item[1])
    )


def classify(resistance: float, wiring: Wiring) -> SupervisedState:
    """The state of a loop measured at `resistance` ohms (math.inf for an open loop)."""
    if math.isnan(resistance):
        return SupervisedState.CUT  # no valid measurement: fail towards an alarm
    table = bands(wiring)
    for band in table:
        if band.contains(resistance):
            return band.state
    if resistance < table[0].low:
        return SupervisedState.SHORT
    return SupervisedState.CUT


def adc_to_resistance(
    code: int, pullup_ohms: float, vref: float = 3.3, supply_volts: float | None = None
) -> float:
    """Loop resistance from an MCP3008 reading of the pull-up / loop voltage divider.

    The loop runs from the ADC input to ground and a pull-up resistor feeds the input
    from `supply_volts` (the ADC's Vref unless the front end says otherwise).
    """
    supply = vref if supply_volts is None else supply_volts
    volts = max(code, 0) * vref / ADC_FULL_SCALE
    if code >= ADC_FULL_SCALE - 1 or volts >= supply:
        return math.inf  # the divider is at the rail: nothing pulls the input down
    return pullup_ohms * volts / (supply - volts)


def resistance_to_adc(
    ohms: float, pullup_ohms: float, vref: float = 3.3, supply_volts: float | None = None
) -> int:
    """The MCP3008 code a loop of `ohms` would give (used by the sim board and tests)."""
    supply = vref if supply_volts is None else supply_volts
    volts = supply if math.isinf(ohms) else supply * ohms / (ohms + pullup_ohms)
    return min(ADC_FULL_SCALE - 1, int(volts / vref * ADC_FULL_SCALE))
