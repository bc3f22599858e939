"""The ADXL345 driver on a stand-in SMBus that keeps the chip's registers, and the
motion sensor's threshold, hold and resting value."""

import gevent
import gpio_standin
import pytest

from doorctl.hal.motion import Adxl345, MotionSensor, MotionSensorError
from doorctl.hal.profile import (
    DEFAULT_PROFILE,
    MotionConfig,
    ProfileError,
    default_profile,
    parse_profile,
)
from doorctl.hal.sim import SimBoard

lgpio, spidev, smbus2 = gpio_standin.load()


@pytest.fixture
def chip():
    smbus2.ADXL345.__init__()
    yield smbus2.ADXL345
    smbus2.ADXL345.__init__()


def test_start_checks_the_id_and_reads_g_at_full_resolution(chip):
    adxl = Adxl345(smbus2.SMBus(1), 0x53)
    assert adxl.device_id() == 0xE5
    assert adxl.read_g() == (0, 0, 0)  # standby until Measure
    adxl.start()
    assert (chip.registers[0x31], chip.registers[0x2D]) == (0x09, 0x08)
    assert adxl.read_g() == pytest.approx((0, 0, 1), abs=0.004)
    chip.accelerate(-2.5, 0.25, 1.0)
    assert adxl.read_g() == pytest.approx((-2.5, 0.25, 1.0), abs=0.004)
    chip.accelerate(9.0, 0, 0)  # beyond ±4 g: the chip's full scale holds it
    assert 3.9 < adxl.read_g()[0] < 4.1


def test_another_chip_or_none_at_the_address_is_refused(chip):
    chip.registers[0] = 0x33  # a LIS3DH's WHO_AM_I, at the wrong register anyway
    with pytest.raises(MotionSensorError, match="not the ADXL345's 0xe5"):
        Adxl345(smbus2.SMBus(1), 0x53).start()
    with pytest.raises(OSError):
        Adxl345(smbus2.SMBus(1), 0x1D).device_id()


def test_motion_starts_above_the_threshold_and_ends_after_the_hold():
    sensor = MotionSensor(threshold=0.5)
    sensor.hold = 0.05
    changes = []
    sensor.on_change(changes.append)
    sensor._sample((0, 0, 1))
    sensor._sample((0.4, 0, 1))
    assert changes == []
    sensor._sample((0.7, 0, 1))
    assert changes == [True] and sensor.moving()
    with gevent.Timeout(5):
        while sensor.moving():
            gevent.sleep(0.01)
    assert changes == [True, False]


def test_a_controller_left_askew_settles_as_its_rest_follows():
    sensor = MotionSensor(threshold=0.3)
    sensor.hold = 0.01
    sensor._sample((0, 0, 1))
    for _ in range(300):  # thirty seconds of readings, tilted by 0.6 g
        sensor._sample((0.6, 0, 0.8))
    assert sensor.deviation() < 0.3
    with gevent.Timeout(5):
        while sensor.moving():
            gevent.sleep(0.01)


def test_the_sim_board_shakes():
    board = SimBoard()
    board.motion.hold = 60
    board.shake(0.1)
    assert not board.motion.moving()
    board.shake(1.0)
    assert board.motion.moving()
    board.close()


FITTED = DEFAULT_PROFILE.replace("enabled = false\nchip", "enabled = true\nchip")


def test_the_profile_names_the_chip_its_bus_and_address():
    assert default_profile().motion is None
    assert parse_profile(FITTED).motion == MotionConfig("ADXL345", 1, 0x53)
    with pytest.raises(ProfileError, match="motion.address: 0x20 is not an ADXL345 address"):
        parse_profile(FITTED.replace("address = 0x53", "address = 0x20"))
    with pytest.raises(ProfileError, match="GPIO 3 is already used by motion.i2c_bus 1"):
        parse_profile(FITTED.replace("open = 4", "open = 3"))
