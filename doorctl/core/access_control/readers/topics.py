"""The events a reader publishes; the source names the reader, the first four are property events.

tns1:Device/Reader/Online          {"online", "reason"?, identity when online}
tns1:Device/Reader/SecureChannel   {"state": "up"|"down"|"failed", "reason"?}
tns1:Device/Reader/Tamper          {"tamper": bool}         (OSDP LSTAT)
tns1:Device/Reader/Power           {"power_failure": bool}  (OSDP LSTAT)
tns1:Device/Reader/CardRead        {"format", "bits", "card_format"}
tns1:Device/Reader/KeySet          {"key_name"}  a new secure channel key was stored
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
KEY_SET = "tns1:Device/Reader/KeySet"
PORT_ERROR = "tns1:Device/Reader/PortError"
UPGRADE = "tns1:Device/Reader/Upgrade"
GRANTED_PREFIX = "tns1:AccessControl/AccessGranted/"
DENIED_PREFIX = "tns1:AccessControl/Denied/"
COMMAND_REFUSED = "tns1:Device/Reader/CommandRefused"
CAPTURE = "tns1:Device/Reader/Capture"
