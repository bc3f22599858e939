"""File transfer (osdp_FILETRANSFER): a file, e.g. firmware, sent to a reader in fragments."""

from __future__ import annotations

import time
from collections.abc import Callable

from gevent.event import AsyncResult

from . import messages as m
from .reader import Inflight, Reader, Transfer

DEFAULT_CHUNK = 128
# Bytes of a FILETRANSFER message besides the fragment: header, SCB, code,
# transfer header, MAC, CRC and up to a block of AES padding.
FT_OVERHEAD = 48


class FileTransfers:
    """OsdpBus's file transfers: fragments between POLLs, paced by the reader's FTSTAT."""

    def file_transfer(
        self,
        address: int,
        data: bytes,
        progress: Callable[[int, int], None] | None = None,
        file_type: int = 1,
    ) -> AsyncResult:
        """Send a file (e.g. firmware) to the reader; the result says how it ended."""
        reader = self._readers[address]
        if reader.transfer or not data:
            raise ValueError("a transfer is already running or the file is empty")
        transfer = Transfer(data, file_type, self._chunk_size(reader), progress)
        if reader.online:
            reader.transfer = transfer
            self._due_now(reader)
        else:
            transfer.result.set({"ok": False, "error": "offline"})
        return transfer.result

    def _chunk_size(self, reader: Reader) -> int:
        """Fragment size from the reader's receive buffer capability, if it has one."""
        cap = reader.capabilities.get("receive_buffer_size")
        if not cap:
            return DEFAULT_CHUNK
        size = cap["compliance"] | (cap["items"] << 8)
        return max(16, min(1024, size - FT_OVERHEAD))

    def _file_chunk(self, reader: Reader, transfer: Transfer) -> Inflight:
        """The next fragment, or an idle message while the PD finishes."""
        chunk = transfer.data[transfer.offset : transfer.offset + transfer.chunk]
        code, data = m.file_chunk(transfer.file_type, len(transfer.data), transfer.offset, chunk)
        return self._send(
            reader, code, data, lambda k, p: self._on_ftstat(reader, len(chunk), k, p)
        )

    def _on_ftstat(self, reader: Reader, sent: int, kind: str, payload: dict) -> None:
        """Advance the transfer by the reader's osdp_FTSTAT."""
        transfer = reader.transfer
        if kind != "ftstat" or payload["status"] < 0:
            self._end_transfer(reader, {"ok": False, "reply": kind, **payload})
            return
        transfer.offset += sent
        transfer.not_before = time.monotonic() + payload["delay"] / 1000
        if payload["rx_size"]:
            transfer.chunk = max(16, min(transfer.chunk, payload["rx_size"] - FT_OVERHEAD))
        if sent and transfer.progress:
            transfer.progress(transfer.offset, len(transfer.data))
        self._check_finished(reader, transfer, payload)

    def _check_finished(self, reader: Reader, transfer: Transfer, payload: dict) -> None:
        """Status 1 (processed) or 2 (rebooting) at the end is success."""
        if transfer.offset < len(transfer.data):
            return
        if payload["status"] in (1, 2):
            self._end_transfer(reader, {"ok": True, **payload, "sent": transfer.offset})
            return
        transfer.idle_rounds += 1
        if transfer.idle_rounds > 100:
            self._end_transfer(reader, {"ok": False, "error": "reader never finished"})

    def _end_transfer(self, reader: Reader, result: dict) -> None:
        """Hand the outcome to the caller and let the reader be polled alone again."""
        transfer, reader.transfer = reader.transfer, None
        if transfer:
            transfer.result.set(result)
