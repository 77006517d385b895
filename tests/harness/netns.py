"""Linux network namespaces a test creates for itself: N namespaces joined by one bridge, with faults to inject.

Layout: namespace ``i`` (1-based) has interface ``eth0`` with address ``<subnet>.(10+i)/24``; its veth peer is a
port of a bridge that lives in a switch namespace of its own, so the host's firewall (e.g. Docker's FORWARD
policy, applied to bridged packets when br_netfilter is loaded) never sees their traffic. One more veth pair links
the switch to the host namespace, whose end holds ``<subnet>.1``: the test process itself (the observer) reaches
every namespace. The /24 is picked per run from 10.231.0.0/16 among those with no route on the host (under a file
lock until the host end holds its address, so networks made at once by parallel runs or test workers never pick
the same one), and every namespace and host interface name carries a random token, so they do not collide either.

Faults:

- ``isolate`` drops, with nftables inside the namespace, every packet between it and the other namespaces (and the
  observer when asked): a silent partition, links stay up, no errors reach the sockets;
- ``delay`` holds the packets leaving the namespace (all, or those to one port) for a fixed time with ``tc``'s
  netem (a round trip gets longer by the delay); the kernel needs sch_netem (``netem_unavailable`` says why not);
- ``add_loss`` drops a share of the packets leaving the namespace (all, or those to one TCP port) at random, with
  nftables: a lossy link, where TCP's retransmissions make every exchange slow, and the way to slow a node where
  the kernel has no netem.

``close`` ends the processes still running inside the namespaces (by pid) and deletes the namespaces (the switch
and its bridge too);
it is idempotent and is what the ``network_namespaces`` fixture calls even when a test fails. Not thread-safe:
one test thread drives one Network.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SUPERNET = ipaddress.IPv4Network("10.231.0.0/16")
PARTITION_TABLE = "hub_test_partition"
LOSS_TABLE = "hub_test_loss"
#: Held while a /24 is picked and the host's address in it is added: every process on the machine uses this path.
SUBNET_LOCK = Path(tempfile.gettempdir()) / "hub-test-netns-subnet.lock"
ROUTE_TYPES = {"local", "broadcast", "unicast", "anycast", "multicast", "blackhole", "unreachable", "prohibit"}


class NetnsError(RuntimeError):
    """A namespace command failed; the message has its output."""


def _run(argv: Sequence[str], *, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(list(argv), input=stdin, capture_output=True, text=True, timeout=30, check=False)
    if check and result.returncode != 0:
        raise NetnsError(f"{' '.join(argv)} failed (exit {result.returncode}): {result.stderr.strip()}")
    return result


def netns_unavailable() -> str | None:
    """Why namespaces cannot be made here (a skip reason), or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool, package in (("ip", "iproute2"), ("tc", "iproute2"), ("nft", "nftables")):
        if shutil.which(tool) is None:
            return f"{tool} not found (Debian package {package}; scripts/test installs it)"
    probe = f"hubprobe{random.randrange(16**6):06x}"
    made = _run(["ip", "netns", "add", probe], check=False)
    if made.returncode != 0:
        return f"cannot create a network namespace: {made.stderr.strip()}"
    _run(["ip", "netns", "delete", probe], check=False)
    return None


@dataclass(frozen=True)
class Namespace:
    """One namespace of a Network: its name and its address on the bridge."""

    index: int
    name: str
    address: str

    def exec_prefix(self) -> list[str]:
        """The argv prefix that runs a command inside this namespace (``ip netns exec`` execs, so pids stay)."""
        return ["ip", "netns", "exec", self.name]


class Network:
    """``count`` namespaces on one bridge; see the module docstring for the layout and the faults."""

    def __init__(self, count: int) -> None:
        self.token = f"{random.randrange(16**6):06x}"
        self.switch = f"hz{self.token}-sw"
        self.uplink = f"hz{self.token}up"
        self.namespaces: list[Namespace] = []
        try:
            self._create(count)
        except BaseException:
            self.close()
            raise

    def _create(self, count: int) -> None:
        switch = ["ip", "-n", self.switch]
        _run(["ip", "netns", "add", self.switch])
        _run([*switch, "link", "add", "br0", "type", "bridge"])
        _run([*switch, "link", "set", "br0", "up"])
        _run(["ip", "link", "add", self.uplink, "type", "veth", "peer", "name", "up0", "netns", self.switch])
        _run([*switch, "link", "set", "up0", "master", "br0", "up"])
        with _subnet_lock():  # once the link is up with its address, the /24's route shows it taken to the next pick
            self.subnet = _free_subnet()
            self.host_address = str(self.subnet.network_address + 1)
            _run(["ip", "addr", "add", f"{self.host_address}/24", "dev", self.uplink])
            _run(["ip", "link", "set", self.uplink, "up"])
        for index in range(1, count + 1):
            address = str(self.subnet.network_address + 10 + index)
            namespace = Namespace(index, f"hz{self.token}-{index}", address)
            self.namespaces.append(namespace)
            _run(["ip", "netns", "add", namespace.name])
            port = f"p{index}"
            pair = ["type", "veth", "peer", "name", port, "netns", self.switch]
            _run(["ip", "link", "add", "eth0", "netns", namespace.name, *pair])
            _run([*switch, "link", "set", port, "master", "br0", "up"])
            inside = ["ip", "-n", namespace.name]
            _run([*inside, "addr", "add", f"{namespace.address}/24", "dev", "eth0"])
            _run([*inside, "link", "set", "eth0", "up"])
            _run([*inside, "link", "set", "lo", "up"])

    def __getitem__(self, index: int) -> Namespace:
        """Namespace ``index``, 1-based like node ids."""
        return self.namespaces[index - 1]

    def run(self, index: int, argv: Sequence[str], *, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside namespace ``index`` to completion; output is captured, the exit code not checked."""
        return subprocess.run(
            [*self[index].exec_prefix(), *argv], capture_output=True, text=True, timeout=timeout_s, check=False
        )

    # --- faults ------------------------------------------------------------------------------------------------

    def isolate(self, index: int, *, peers: Iterable[int] | None = None, observer: bool = False) -> None:
        """Drop every packet between namespace ``index`` and ``peers`` (default: all other namespaces), and the
        observer (the test process, on the bridge address) when ``observer``. Replaces an earlier isolation."""
        targets = [self[i].address for i in (peers if peers is not None else range(1, len(self.namespaces) + 1))]
        targets = [address for address in targets if address != self[index].address]
        if observer:
            targets.append(self.host_address)
        if not targets:
            raise ValueError("nothing to isolate from")
        addresses = ", ".join(targets)
        hook = "type filter hook {} priority 0; policy accept;"
        rules = (
            f"table inet {PARTITION_TABLE} {{\n"
            f"  chain input {{ {hook.format('input')} ip saddr {{ {addresses} }} drop; }}\n"
            f"  chain output {{ {hook.format('output')} ip daddr {{ {addresses} }} drop; }}\n"
            "}\n"
        )
        self.heal(index)
        _run([*self[index].exec_prefix(), "nft", "-f", "-"], stdin=rules)

    def heal(self, index: int | None = None) -> None:
        """Undo ``isolate`` for namespace ``index`` (default: every namespace)."""
        for namespace in self.namespaces if index is None else [self[index]]:
            _run([*namespace.exec_prefix(), "nft", "delete", "table", "inet", PARTITION_TABLE], check=False)

    def netem_unavailable(self) -> str | None:
        """Why ``delay`` cannot work here (a skip reason), or None. Probes both forms on namespace 1."""
        if not self.namespaces:
            return "no namespace"
        try:
            self.delay(1, 1)
            self.delay(1, 1, dport=9)
        except NetnsError as exc:
            return f"tc cannot delay here (the kernel needs sch_netem, and sch_prio with cls_u32 for one port): {exc}"
        finally:
            self.undelay(1)
        return None

    def delay(self, index: int, delay_ms: int, jitter_ms: int = 0, *, dport: int | None = None) -> None:
        """Hold packets leaving namespace ``index`` for ``delay_ms`` (± ``jitter_ms``): all of them, or only those
        to TCP/UDP port ``dport`` (e.g. a node's replica fetches to the Kafka port, while its quorum traffic on
        another port flows freely). Replaces an earlier delay of that namespace."""
        netem = ["netem", "delay", f"{delay_ms}ms", *([f"{jitter_ms}ms"] if jitter_ms else [])]
        tc = ["tc", "qdisc", "replace", "dev", "eth0"]
        self.undelay(index)
        if dport is None:
            commands = [[*tc, "root", *netem]]
        else:
            # A fourth band no priority maps to by default holds the delayed packets; the others are untouched.
            match = ["u32", "match", "ip", "dport", str(dport), "0xffff", "flowid", "1:4"]
            commands = [
                [*tc, "root", "handle", "1:", "prio", "bands", "4"],
                [*tc, "parent", "1:4", "handle", "40:", *netem],
                ["tc", "filter", "add", "dev", "eth0", "parent", "1:", "protocol", "ip", "prio", "1", *match],
            ]
        for command in commands:
            result = self.run(index, command)
            if result.returncode != 0:
                self.undelay(index)
                raise NetnsError(f"{' '.join(command)} in {self[index].name} failed: {result.stderr.strip()}")

    def undelay(self, index: int) -> None:
        """Remove any delay of namespace ``index``."""
        self.run(index, ["tc", "qdisc", "del", "dev", "eth0", "root"])

    def add_loss(self, index: int, percent: int, *, dport: int | None = None) -> None:
        """Drop ``percent`` % of the packets leaving namespace ``index`` (only TCP ones to ``dport`` when given), at
        random; replaces an earlier loss of that namespace."""
        if not 0 < percent <= 100:
            raise ValueError(f"percent must be 1..100, not {percent}")
        match = f"tcp dport {dport} " if dport is not None else ""
        if percent < 100:
            match += f"numgen random mod 100 < {percent} "
        rules = (
            f"table inet {LOSS_TABLE} {{\n"
            "  chain output { type filter hook output priority 0; policy accept; "
            f"{match}drop; }}\n"
            "}\n"
        )
        self.remove_loss(index)
        _run([*self[index].exec_prefix(), "nft", "-f", "-"], stdin=rules)

    def remove_loss(self, index: int) -> None:
        """Undo ``add_loss`` for namespace ``index``."""
        _run([*self[index].exec_prefix(), "nft", "delete", "table", "inet", LOSS_TABLE], check=False)

    # --- teardown ----------------------------------------------------------------------------------------------

    def close(self) -> None:
        """End what still runs inside the namespaces and delete them, the switch last. Idempotent."""
        for namespace in self.namespaces:
            self._kill_inside(namespace)
            _run(["ip", "netns", "delete", namespace.name], check=False)
        self.namespaces = []
        _run(["ip", "netns", "delete", self.switch], check=False)
        _run(["ip", "link", "delete", self.uplink], check=False)

    @staticmethod
    def _kill_inside(namespace: Namespace) -> None:
        listed = _run(["ip", "netns", "pids", namespace.name], check=False)
        pids = [int(pid) for pid in listed.stdout.split()]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while pids and time.monotonic() < deadline:
            pids = [pid for pid in pids if _running(pid)]
            time.sleep(0.05)


@contextlib.contextmanager
def _subnet_lock() -> Iterator[None]:
    with SUBNET_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _free_subnet() -> ipaddress.IPv4Network:
    """A /24 of SUPERNET that no route of the host namespace overlaps."""
    routes = _run(["ip", "-4", "route", "show", "table", "all"]).stdout
    used: set[ipaddress.IPv4Network | ipaddress.IPv6Network] = set()
    for line in routes.splitlines():
        words = [word for word in line.split() if word not in ROUTE_TYPES]
        with contextlib.suppress(ValueError, IndexError):
            used.add(ipaddress.ip_network(words[0], strict=False))
    candidates = list(SUPERNET.subnets(new_prefix=24))
    random.shuffle(candidates)
    for subnet in candidates:
        if not any(subnet.overlaps(route) for route in used if route.prefixlen > 0):
            return subnet
    raise NetnsError(f"no free /24 in {SUPERNET}")


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (a killed child of this process is one until reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"
