"""The events a reader publishes; the source names the reader.

Online, SecureChannel, SecureChannelFailure, Tamper and Power are property events.

tns1:Device/Reader/Online          {"online", "reason"?, identity when online}
tns1:Device/Reader/SecureChannel   {"state": "up"|"down"|"failed", "reason"?, "cause"?,
                                    "changes"?}  changes: a summary of that many changes
                                   held back while the channel flapped (flapping)
tns1:Device/Reader/SecureChannelFailure  {"failing", "cause"?, "reason"?}  a required
                                   secure channel can't be set up (the alarm follows it)
tns1:Device/Reader/Tamper          {"tamper": bool}         (OSDP LSTAT)
tns1:Device/Reader/Power           {"power_failure": bool}  (OSDP LSTAT)
tns1:Device/Reader/CardRead        {"format", "bits", "card_format"}
tns1:Device/Reader/KeySet          {"by": "install"|"rotation"|"administrator"|"upgrade",
                                    "confirmed_by"?}  a secure channel key was stored
tns1:Device/Reader/KeyCleared      {"by": "administrator"}  the stored key was cleared
tns1:Device/Reader/KeyRotation     {"state": "failed"|"unknown", "reason"}  a rotation
                                   that did not (or not yet) give the reader its new key
tns1:Device/Reader/PortError       {"port", "error"}  the bus's port failed to open
tns1:Device/Reader/Upgrade         {"state": "running"|"done"|"failed", ...}
tns1:Device/Reader/CommandRefused  {"command": "osdp_LED", "code", "error", "times"}  (NAK)
tns1:Device/Reader/Capture         {"state": "recording", "duration"} / {"state": "done", "frames"}
"""

ONLINE = "tns1:Device/Reader/Online"
SECURE_CHANNEL = "tns1:Device/Reader/SecureChannel"
TAMPER = "tns1:Device/Reader/Tamper"
POWER = "tns1:Device/Reader/Power"
CARD_READ = "tns1:Device/Reader/CardRead"
SECURE_CHANNEL_FAILURE = "tns1:Device/Reader/SecureChannelFailure"
KEY_SET = "tns1:Device/Reader/KeySet"
KEY_ROTATION = "tns1:Device/Reader/KeyRotation"
KEY_CLEARED = "tns1:Device/Reader/KeyCleared"
PORT_ERROR = "tns1:Device/Reader/PortError"
UPGRADE = "tns1:Device/Reader/Upgrade"
GRANTED_PREFIX = "tns1:AccessControl/AccessGranted/"
DENIED_PREFIX = "tns1:AccessControl/Denied/"
COMMAND_REFUSED = "tns1:Device/Reader/CommandRefused"
CAPTURE = "tns1:Device/Reader/Capture"
