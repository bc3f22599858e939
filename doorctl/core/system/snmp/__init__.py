"""SNMP (manual: System > Network > SNMP): net-snmp's snmpd, run and configured by doorctl.

Engine decision: snmpd, not an agent in doorctl's process. snmpd is the OS's own
engine (Debian's `snmpd`): v1, v2c and v3 (USM with SHA/SHA-256 and AES, engine ID,
boot counter, replay windows) and the notification sessions (traps and informs, with
their retries) are net-snmp's well-tested code, and a slow or hostile manager loads
snmpd, not doorctl's hub. pysnmp 7 is built on asyncio, which would need its own
thread beside gevent's hub and brings a large USM implementation of its own.

- settings.py: the section's one form definition (SnmpSettings), its secrets.
- engine.py: snmpd.conf and the persistent v3 user file, made from a record; the hooks
  for doorctl's own objects and traps (`Snmp.extra_config`, `notification_targets`,
  `snmptrap_arguments`).
- service.py: `Snmp`, the child snmpd's supervision (start, restart on change, stop).
"""

from doorctl.core.system.snmp.service import Snmp

__all__ = ["Snmp"]
