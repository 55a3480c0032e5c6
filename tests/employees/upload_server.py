"""A real API server in its own process, for measuring what an upload costs in memory.

Run as a script it serves the app (configured by the NANOLEARN_* environment) on a free
loopback port and prints one JSON line with the port and an editor key. Imported, it offers
`UploadServer`, which starts it and reads the server process's resident memory from /proc.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    import uvicorn

    from app.auth.models import Role
    from app.auth.service import create_api_key
    from app.core.config import Settings
    from app.core.runtime import Runtime
    from app.main import create_app

    runtime = Runtime.create(Settings(_env_file=None))  # type: ignore[call-arg]
    with runtime.session_factory() as session:
        _, key = create_api_key(session, "upload test", Role.editor, runtime.clock.now())
        session.commit()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(json.dumps({"port": sock.getsockname()[1], "key": key}), flush=True)
    config = uvicorn.Config(create_app(runtime), log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


class UploadServer:
    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__],
            env={**os.environ, **env},
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        started = json.loads(self.process.stdout.readline())
        self.url = f"http://127.0.0.1:{started['port']}/api/v1/employees/import"
        self.headers = {"Authorization": f"Bearer {started['key']}"}

    def upload(self, data: bytes, filename: str, **params: str) -> httpx.Response:
        for _ in range(100):  # the socket is bound before uvicorn listens on it
            try:
                return httpx.post(
                    self.url,
                    headers=self.headers,
                    params=params,
                    files={"file": (filename, data)},
                    timeout=300,
                )
            except httpx.ConnectError:
                time.sleep(0.1)
        raise AssertionError("the server did not start")

    def _status(self, field: str) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise AssertionError(field)

    def resident(self) -> int:
        return self._status("VmRSS")

    def reset_peak(self) -> None:
        # Linux: writing 5 resets the peak resident size (VmHWM) to the current one.
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")

    def peak(self) -> int:
        return self._status("VmHWM")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


if __name__ == "__main__":
    main()
