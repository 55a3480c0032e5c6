#!/usr/bin/env python3
"""scripts/bench_public.py's load: the requests it sends, and wrk to send them as fast as the
server answers (throughput, the scanner storm). The paced runs are scripts/bench_public_paced.py.

Requests are lines of METHOD, PATH, USER-AGENT, X-FORWARDED-FOR and BODY (tab-separated), which
scripts/bench_public.lua (wrk) and bench_public_paced.py both read.
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_public_setup import BROWSER_UA, NAT_ADDRESSES

LUA = Path(__file__).with_name("bench_public.lua")
INSTALL_HINT = "wrk is not installed: sudo apt-get install -y wrk"
SAFE_LINKS_UA = (
    "Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/57.0.2987.133 Safari/537.36"
)
SCANNER_UAS = [
    "Mimecast URL Protect",
    "Proofpoint URL Defense scanner",
    "Barracuda Link Protection",
]
EOP_ADDRESSES = [f"40.107.{i // 200}.{i % 200 + 1}" for i in range(600)]


def request_lines(links: list[dict[str, object]], page: str) -> list[str]:
    """One request per e-mail, as a person would send it (a browser, a workplace address)."""
    lines = []
    for i, mail in enumerate(links):
        forwarded = NAT_ADDRESSES[i % len(NAT_ADDRESSES)]
        answers = mail["answers"]
        assert isinstance(answers, list)
        option = i % len(answers)
        if page == "view":
            lines.append(f"GET\t{mail['view']}\t{BROWSER_UA}\t{forwarded}\t")
        elif page == "click":
            lines.append(f"GET\t{answers[option]}\t{BROWSER_UA}\t{forwarded}\t")
        else:
            lines.append(f"POST\t{mail['post']}\t{BROWSER_UA}\t{forwarded}\toption={option}")
    return lines


def storm_lines(links: list[dict[str, object]], seed: int = 7) -> list[str]:
    """Every link of every e-mail, as gateways fetch them: scanner agents, or a browser's agent
    from Microsoft's EOP network; e-mails interleaved, each e-mail's links close together."""
    rng = random.Random(seed)
    lines = []
    for i, mail in enumerate(links):
        answers = mail["answers"]
        assert isinstance(answers, list)
        urls = [mail["view"], *answers, mail["unsubscribe"]]
        if i % 2:
            agent = SCANNER_UAS[i % len(SCANNER_UAS)]
            forwarded = NAT_ADDRESSES[i % len(NAT_ADDRESSES)]
        else:
            agent, forwarded = SAFE_LINKS_UA, rng.choice(EOP_ADDRESSES)
        lines.extend(f"GET\t{url}\t{agent}\t{forwarded}\t" for url in urls)
    return lines


def wrk(
    base: str,
    lines: list[str],
    *,
    duration: float,
    connections: int,
    threads: int = 2,
    limit: int = 0,
    delay_ms: int = 0,
) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as handle:
        handle.write("\n".join(lines) + "\n")
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{round(duration)}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA),
        base,
        "--",
        handle.name,
        str(limit),
        str(delay_ms),
        str(threads),
    ]
    started = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed: {done.stdout}{done.stderr}")
    out = done.stdout
    elapsed = time.monotonic() - started
    Path(handle.name).unlink()
    status = dict(
        (k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", out.split("STATUS", 1)[1].split("\n")[0])
    )
    pct = dict((k, float(v)) for k, v in re.findall(r"(\w+)=([\d.]+)", out.split("PCT", 1)[1]))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rate": round(rate),
        "elapsed_s": round(elapsed, 1),
        **{f"status_{k}": v for k, v in status.items()},
        **{f"{k}_ms": round(v, 1) for k, v in pct.items()},
        "socket_errors": errors.group(1) if errors else "",  # type: ignore[dict-item]
    }


def profile(pid: int, base: str, lines: list[str], args: argparse.Namespace) -> None:
    """py-spy's view of the server while wrk sends lesson views (a flame graph and the raw
    stacks, in --profile DIR)."""
    out = Path(args.profile)
    out.mkdir(parents=True, exist_ok=True)
    seconds = str(round(args.duration))
    spy = [str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(pid), "-d", seconds]
    raw = subprocess.Popen([*spy, "-f", "raw", "-o", str(out / "view.txt")])
    wrk(base, lines, duration=args.duration, connections=args.connections)
    raw.wait()
