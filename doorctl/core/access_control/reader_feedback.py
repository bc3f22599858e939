"""Reader feedback: the green or red LED and the buzzer after an access decision."""

from __future__ import annotations

import gevent

# Long enough to see and hear, short enough not to confuse the next user.
FEEDBACK_LED_SECONDS = 1.5
GRANT_BEEP = (0.1,)
DENY_BEEPS = (0.15, 0.15)
BEEP_GAP = 0.1


class ReaderFeedback:
    """One reader's LEDs and buzzer, driven by a greenlet that a new decision replaces."""

    def __init__(self, board):
        self.board = board
        self._greenlet: gevent.Greenlet | None = None

    def show(self, granted: bool) -> None:
        """Green LED and a short beep on grant; red LED and a double beep on deny."""
        self.stop()
        led = "reader_led_green" if granted else "reader_led_red"
        beeps = GRANT_BEEP if granted else DENY_BEEPS
        self._greenlet = gevent.spawn(self._show, led, beeps)

    def stop(self) -> None:
        """End the feedback now: LED and buzzer off."""
        if self._greenlet is not None:
            self._greenlet.kill(block=True)
            self._greenlet = None

    def _show(self, led: str, beeps: tuple[float, ...]) -> None:
        outputs = self.board.outputs
        try:
            outputs[led].set(True)
            for i, beep in enumerate(beeps):
                if i:
                    gevent.sleep(BEEP_GAP)
                outputs["reader_buzzer"].set(True)
                gevent.sleep(beep)
                outputs["reader_buzzer"].set(False)
            gevent.sleep(max(FEEDBACK_LED_SECONDS - sum(beeps), 0))
        finally:
            outputs[led].set(False)
            outputs["reader_buzzer"].set(False)
