"""liveart <-> TouchDesigner: the Callbacks DAT of an OSC In DAT, plus helpers to send.

Set-up (patches/touchdesigner/README.md has the details):

    liveart run --osc-out 127.0.0.1:9002      # liveart echoes every change (and fps) to TD

    OSC In DAT   liveart_in        Port 9002, Callbacks DAT: liveart_callbacks (this file)
    OSC Out DAT  liveart_out       Network Address 127.0.0.1, Port 9000
    Table DAT    liveart_values    filled here: one row per parameter (name | value)
    Constant CHOP liveart_chop     filled here: a channel per number (dream_mix, stats_fps...)

From anywhere in the project:

    op('liveart_callbacks').module.send('dream.mix', 0.3)
    op('liveart_callbacks').module.action('preset/morph', 'deep-eyes', 8)
    op('liveart_callbacks').module.sync_from_oscquery()   # read every value from OSCQuery

Only `op` is taken from TouchDesigner, and only inside functions, so the file also runs (and is
tested) as plain Python.
"""

import json
import urllib.request

PREFIX = "/liveart/"
TABLE = "liveart_values"      # Table DAT: name | value
CHOP = "liveart_chop"         # Constant CHOP: one channel per numeric value
OSC_OUT = "liveart_out"       # OSC Out DAT pointed at liveart (127.0.0.1:9000)
OSCQUERY = "http://127.0.0.1:9001"  # liveart's OSCQuery server (--oscquery-port)
CONSTANT_SLOTS = 40           # the Constant CHOP's const0..const39


# -- receiving ------------------------------------------------------------------------------------
def onReceiveOSC(dat, rowIndex, message, bytes, timeStamp, address, args, peer):
    """Called by the OSC In DAT for every message liveart sends (TouchDesigner's signature)."""
    handle(address, args)
    return


def param_name(address):
    """'/liveart/dream/mix' -> 'dream.mix' ('stats.fps', 'net.labels' for the stats); None for
    an address that is not liveart's."""
    address = str(address)
    if not address.startswith(PREFIX) or len(address) == len(PREFIX):
        return None
    return address[len(PREFIX):].replace("/", ".")


def channel_name(name):
    """A CHOP channel name for a parameter: 'dream.mix' -> 'dream_mix'."""
    return name.replace(".", "_")


def handle(address, args):
    """Store one message from liveart: its first argument in the table (all of them for the
    labels and energies), numbers also in the CHOP. Returns the (name, value) stored, or None."""
    name = param_name(address)
    args = list(args or [])
    if name is None or not args:
        return None
    if name == "net.labels":
        value = " | ".join(str(a) for a in args if str(a))
    elif name == "net.energy":
        value = " ".join(str(a) for a in args)
    else:
        value = args[0]
    set_row(name, value)
    number = _number(value)
    if number is not None:
        set_channel(channel_name(name), number)
    return name, value


def _number(value):
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    return None


def set_row(name, value):
    table = op(TABLE)
    if table is None:
        return
    if table.numRows == 0:
        table.appendRow(["name", "value"])
    if table.row(name) is None:
        table.appendRow([name, value])
    else:
        table[name, 1] = value


def set_channel(channel, value):
    """Put `value` on the Constant CHOP's channel `channel`, taking a free slot for a new one."""
    chop = op(CHOP)
    if chop is None:
        return
    free = None
    for i in range(CONSTANT_SLOTS):
        slot = getattr(chop.par, "const%dname" % i, None)
        if slot is None:
            break
        if slot.eval() == channel:
            getattr(chop.par, "const%dvalue" % i).val = value
            return
        if free is None and not slot.eval():
            free = i
    if free is None:
        # Constant CHOPs whose constants are a sequence (TouchDesigner 2022+) grow a block
        sequence = getattr(getattr(chop, "seq", None), "const", None)
        if sequence is None or sequence.numBlocks >= CONSTANT_SLOTS:
            return  # full: the value is still in the table
        free = sequence.numBlocks
        sequence.numBlocks = free + 1
    getattr(chop.par, "const%dname" % free).val = channel
    getattr(chop.par, "const%dvalue" % free).val = value


# -- sending --------------------------------------------------------------------------------------
def address_of(name):
    """'dream.mix' -> '/liveart/dream/mix'."""
    return PREFIX + name.replace(".", "/")


def send(name, value):
    """Set a parameter: send('dream.octaves', 3), send('dream.layer', 'blocks.8'). Python ints
    go out as OSC ints, floats as floats, strings as strings (see 'liveart params')."""
    op(OSC_OUT).sendOSC(address_of(name), [value])


def action(name, *args):
    """Run an action: action('preset/load', 'gentle'), action('preset/morph', 'deep-eyes', 8),
    action('scene', 'dream+style'), action('dream/reset')."""
    op(OSC_OUT).sendOSC(PREFIX + name, list(args) if args else [1])


# -- OSCQuery -------------------------------------------------------------------------------------
def fetch(url=OSCQUERY, path="/", timeout=2.0):
    """GET an OSCQuery path (JSON). It blocks TouchDesigner's frame for the request: fine on
    the same machine, once, not every frame."""
    with urllib.request.urlopen(url.rstrip("/") + path, timeout=timeout) as reply:
        return json.loads(reply.read().decode("utf-8"))


def methods(node):
    """Every node of an OSCQuery tree that is an OSC method (it has a TYPE)."""
    if "TYPE" in node:
        yield node
    for child in (node.get("CONTENTS") or {}).values():
        yield from methods(child)


def sync_from_oscquery(url=OSCQUERY):
    """Read liveart's whole tree once and store every value, as if liveart had echoed them:
    useful when TouchDesigner starts after the show. Returns how many values were stored."""
    count = 0
    for node in methods(fetch(url)):
        value = node.get("VALUE")
        if value and value[0] is not None and handle(node["FULL_PATH"], value):
            count += 1
    return count


def namespace(url=OSCQUERY):
    """Rows (address, type, min, max, description) for every parameter and action liveart
    offers: e.g. to fill a Table DAT that builds a UI."""
    rows = []
    for node in methods(fetch(url)):
        limits = (node.get("RANGE") or [{}])[0] or {}
        rows.append((node["FULL_PATH"], node["TYPE"], limits.get("MIN", ""),
                     limits.get("MAX", ""), node.get("DESCRIPTION", "")))
    return rows
