"""The wire edge: what an OSC argument means for a parameter, and what a parameter is on the wire.

One place for every way in and out (OSC over UDP, OSCQuery's HTTP and websocket, the echo):
- the OSC type tag of each parameter type (`osc_type_of`, OSCQuery's TYPE `oscquery_type`),
  and the messages built from them (`value_message`, `message`);
- reading an argument as a value (`raw_value`) and telling whether it was clamped
  (`out_of_range`, at the float32 precision an OSC float travels in);
- who may send (`AccessPolicy`: --osc-allow) and what is said when a server listens beyond
  this machine (`warn_if_public`);
- `Remote`: a websocket peer, which stands where a UDP message has its (host, port);
- which names a browser may call this machine by (`LocalNames`: the Host and Origin checks of
  OSCQuery's HTTP and websocket and of the status page, against DNS rebinding and web pages).
"""
from __future__ import annotations

import ipaddress
import logging
import math
import socket
import struct
import threading
import time
from typing import Any, Callable, Iterable, NamedTuple, Sequence
from urllib.parse import urlsplit

from pythonosc.osc_message_builder import OscMessageBuilder

from ..errors import UserError
from ..params import Param

# bool has no fixed tag: T or F is the value itself
TYPE_TAGS = {"float": "f", "int": "i", "enum": "s", "str": "s", "trigger": ""}
VALUE_TAGS = frozenset("ifdhsTF")  # what a value or an action argument can be
TAGS_PARSED = frozenset("ifdhsbrmtTFN[]")  # what python-osc's OscMessage understands
NO_DATA_TAGS = frozenset("IN")  # impulse and nil carry nothing: "no argument" to an action


class BadType(Exception):
    """An argument a parameter can't take (the sentence says why)."""


def osc_type_of(param: Param, value: Any = None) -> str:
    """The OSC type tag a parameter's value is sent with: 'f' float, 'i' int, 'T'/'F' bool
    ('F' only when `value` is given and false), 's' enum and str, '' trigger (no argument)."""
    if param.type == "bool":
        return "F" if value is not None and not value else "T"
    return TYPE_TAGS[param.type]


def oscquery_type(param: Param, value: Any) -> str:
    """OSCQuery's TYPE: the OSC type tag, and 'I' (impulse) for a trigger."""
    return osc_type_of(param, value) or "I"


def value_message(param: Param, value: Any) -> bytes:
    """The OSC datagram `param.address <value>` with the parameter's OSC type."""
    tag = osc_type_of(param, value)
    cast = {"f": float, "i": int, "T": bool, "F": bool, "s": str}
    return message(param.address, [(cast[tag](value), tag)] if tag else [])


def message(address: str, args: Iterable[tuple[Any, str]] = ()) -> bytes:
    b = OscMessageBuilder(address)
    for value, tag in args:
        b.add_arg(value, tag)
    return b.build().dgram


def raw_value(p: Param, tag: str, arg: Any) -> Any:
    """The first OSC argument as a value Param.coerce understands for `p`, or BadType."""
    if tag not in VALUE_TAGS:
        raise BadType(f"{p.name} takes a {p.type} value, not OSC type {tag!r}")
    if tag in "TF":
        if p.type == "bool":
            return arg
        if p.type in ("float", "int"):
            return 1 if arg else 0
        raise BadType(f"{p.name} is a{'n' if p.type == 'enum' else ''} {p.type}; "
                      "send a string or a number, not T/F")
    if tag == "s":
        return arg  # Param.coerce reads strings for every type ("0.5", "on", a choice's name)
    # a number: i h f d
    if isinstance(arg, float) and not math.isfinite(arg):
        raise BadType(f"{p.name} takes a finite number, not {arg!r}")
    if p.type == "bool":
        return arg >= 0.5 if isinstance(arg, float) else arg != 0
    if p.type == "enum":
        return int(arg)  # an index; out of range is clamped by coerce
    if p.type == "str":
        return str(int(arg)) if float(arg).is_integer() else repr(arg)
    return arg


def f32(x: float) -> float:
    """`x` as the nearest 32-bit float: what an OSC 'f' argument can hold."""
    return struct.unpack(">f", struct.pack(">f", x))[0]


def short_float(x: float) -> str:
    """The shortest text that reads back as the same float32: 0.05000000074505806 -> '0.05'."""
    for digits in range(1, 10):
        text = f"{x:.{digits}g}"
        if f32(float(text)) == f32(x):
            return text
    return repr(x)


def out_of_range(p: Param, raw: Any, choices: Sequence[str] = ()) -> bool:
    """Whether Param.coerce had to clamp `raw` (numbers, and enum indexes into `choices`, the
    ones the enum has now). A float is judged at float32 precision, so the range's end as a
    sender writes it (OSCQuery's MAX 0.05, which arrives as 0.05000000074505806) is inside."""
    try:
        if p.type == "float":
            num = f32(float(raw))
            return num < f32(p.min) or num > f32(p.max)
        if p.type == "int":
            num = float(raw)
            return num < p.min or num > p.max
        if p.type == "enum":
            if isinstance(raw, str) and raw.strip() in choices:
                return False
            idx = int(float(str(raw)))
            return idx < 0 or idx >= len(choices)
    except (TypeError, ValueError, OverflowError):
        pass
    return False


# -- who may send ----------------------------------------------------------------------------
class Remote(NamedTuple):
    """A websocket peer. It stands where a UDP message has its (host, port), so the access
    policy and the logs read it the same way; a reply to it goes through `send`."""
    host: str
    port: int
    send: Callable[[bytes], None]


def host_of(addr: Any) -> str | None:
    """The IP address of a peer ((host, port, ...) or a Remote), IPv4-mapped IPv6 as IPv4."""
    try:
        ip = ipaddress.ip_address(addr[0])
    except (ValueError, TypeError, IndexError):
        return None
    mapped = getattr(ip, "ipv4_mapped", None)
    return str(mapped or ip)


def peer_text(addr: Any) -> str:
    try:
        return f"{addr[0]}:{addr[1]}"
    except (TypeError, IndexError):
        return str(addr)


def parse_allow(cidrs: Iterable[str]) -> list:
    """--osc-allow values as networks; UserError for one that isn't an address or CIDR."""
    nets = []
    for text in cidrs:
        try:
            nets.append(ipaddress.ip_network(str(text).strip(), strict=False))
        except ValueError:
            raise UserError(f"--osc-allow takes an address or network such as 192.168.1.0/24, "
                            f"not {text!r}.") from None
    return nets


class AccessPolicy:
    """--osc-allow: the networks senders may come from (none given: every sender; the servers
    listen on loopback unless told otherwise). Asked by every way in: OSC over UDP, OSCQuery's
    HTTP requests and its websocket."""

    def __init__(self, cidrs: Iterable[str] = ()):
        self.nets = parse_allow(cidrs)

    def allows(self, addr: Any) -> bool:
        if not self.nets:
            return True
        host = host_of(addr)
        if host is None:
            return False
        ip = ipaddress.ip_address(host)
        return any(ip in net for net in self.nets if net.version == ip.version)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def warn_if_public(logger: logging.Logger, what: str, host: str, policy: AccessPolicy) -> None:
    """Say that `what` ("OSC", "OSCQuery") listens beyond this machine, when it does."""
    if not is_loopback(host):
        logger.warning("%s listens beyond this machine (%s): anyone on the network can play "
                       "the show%s.", what, host or "0.0.0.0",
                       "" if policy.nets else "; restrict senders with --osc-allow CIDR")


# -- which names are this machine's ----------------------------------------------------------
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost",
                            "ip6-loopback"})
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})


def _ip(text: str) -> Any:
    """`text` as an IP address (IPv4-mapped IPv6 as IPv4, a zone index dropped), or None."""
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    return getattr(ip, "ipv4_mapped", None) or ip


def host_of_header(value: str) -> str | None:
    """The host named by an HTTP Host header ('127.0.0.1:9001', '[::1]:9001', 'name'),
    lower-case, without a trailing dot; None when it can't be read."""
    try:
        host = urlsplit("//" + value.strip()).hostname
    except ValueError:  # '[::1' and such
        return None
    return host.rstrip(".") if host else None


def _own_addresses() -> frozenset:
    """This machine's interface addresses (ifaddr, as zeroconf reads them), as text."""
    found: set[str] = set()
    try:
        import ifaddr

        for adapter in ifaddr.get_adapters():
            for ip in adapter.ips:
                text = ip.ip if ip.is_IPv4 else ip.ip[0]
                if (parsed := _ip(str(text))) is not None:
                    found.add(str(parsed))
    except Exception:  # noqa: BLE001 - no ifaddr, or an interface it can't read
        pass
    return frozenset(found)


def _own_names() -> frozenset:
    """This machine's host name, its first label and their mDNS (.local) forms."""
    names: set[str] = set()
    try:
        full = socket.gethostname().strip().lower().rstrip(".")
    except OSError:
        full = ""
    for name in (full, full.split(".")[0]):
        if name:
            names.update((name, f"{name}.local"))
    return frozenset(names)


class LocalNames:
    """The names a browser may call this machine by: loopback names and addresses
    (`localhost`, `*.localhost`, 127.0.0.0/8, ::1), this machine's host name (and its `.local`
    mDNS name), the addresses of its interfaces (read again, at most every REFRESH s, when an
    address isn't among them: DHCP may have given a new one), and the hosts a server was bound
    to (`bound`). A page reached by DNS rebinding names the attacker's host: refused.

    `host_ok(header)` judges an HTTP Host header, `origin_ok(origin, policy)` a browser's
    Origin (also admitted: an IP address --osc-allow's networks hold)."""

    REFRESH = 10.0

    def __init__(self, bound: Iterable[str] = ()):
        hosts = (str(b).strip().strip("[]").lower().rstrip(".") for b in bound if b)
        self.bound = frozenset(h for h in hosts if h not in WILDCARD_HOSTS)
        self.names = _own_names()
        self._addresses: frozenset = frozenset()
        self._read_at = -math.inf
        self._lock = threading.Lock()

    def addresses(self, refresh: bool = False) -> frozenset:
        with self._lock:
            now = time.monotonic()
            if refresh and now - self._read_at >= self.REFRESH:
                self._addresses, self._read_at = _own_addresses(), now
            return self._addresses

    def is_local(self, host: str | None) -> bool:
        """Whether `host` (a name or an address) is this machine's."""
        if not host:
            return False
        host = host.strip("[]").lower().rstrip(".")
        if host in LOOPBACK_NAMES or host.endswith(".localhost") or host in self.bound:
            return True
        ip = _ip(host)
        if ip is None:
            return host in self.names
        if ip.is_loopback or str(ip) in self.bound:
            return True
        text = str(ip)
        return text in self.addresses() or text in self.addresses(refresh=True)

    def host_ok(self, header: str | None) -> bool:
        """Whether an HTTP request's Host header names this machine. No header at all is
        admitted: browsers always send one; scripts speaking HTTP/1.0 may not."""
        if header is None:
            return True
        return self.is_local(host_of_header(header))

    def origin_ok(self, origin: str | None, policy: "AccessPolicy | None" = None) -> bool:
        """Whether a browser's Origin header may drive the show: no Origin (not a browser),
        a page from this machine, or one served from an address `policy` (--osc-allow, when
        it names networks) admits. 'null' (a sandboxed frame, a file) is refused; names
        other than this machine's are not resolved (their address is the attacker's to say)."""
        if origin is None:
            return True
        try:
            host = urlsplit(origin.strip()).hostname
        except ValueError:
            return False
        if not host:
            return False
        if self.is_local(host):
            return True
        ip = _ip(host.strip("[]"))
        return bool(policy is not None and policy.nets and ip is not None
                    and policy.allows((str(ip), 0)))
