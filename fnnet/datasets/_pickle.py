"""Read the pickles inside Keras's dataset files without ever unpickling them.

Keras ships CIFAR as Python-2 pickles of dicts and IMDB/Reuters as ``.npz`` files whose ragged
``dtype=object`` arrays numpy can only store as pickles. ``pickle.load`` on such a file runs
whatever callables the file names, so a tampered download could run code.

:func:`loads` is not a restricted ``pickle.Unpickler``: it is a separate, small interpreter for
the binary pickle opcodes (protocols 1 to 5); the ``pickle`` module is never asked to read.
It builds only ``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes``, ``list``, ``tuple``,
``dict`` and numpy arrays. A pickle may name exactly three globals, and only to describe an
array: ``numpy.core.multiarray._reconstruct`` (or ``numpy._core...``), ``numpy.ndarray`` and
``numpy.dtype``. They are never looked up or called; they are tokens that this module
interprets itself:

* ``_reconstruct(ndarray, (0,), b"b")`` followed by ``BUILD`` with numpy's state tuple
  ``(1, shape, dtype, is_fortran, data)`` becomes ``np.frombuffer(data, dtype)`` reshaped, after
  checking that ``data`` holds exactly ``prod(shape) * itemsize`` bytes; for ``dtype=object``,
  ``data`` must be a list of ``prod(shape)`` already-built plain values, placed one by one into
  ``np.empty(shape, object)``.
* ``dtype(descr, align, copy)`` followed by ``BUILD`` becomes ``np.dtype(descr)`` with the byte
  order from the state, for ``descr`` in a fixed list of booleans, integers, floats and ``O``.

Any other global, opcode (``INST``, ``OBJ``, ``NEWOBJ``, ``PERSID``, the text opcodes of
protocol 0...), or misuse of these (``BUILD`` on a list, an array left unbuilt) raises
:class:`ValueError`. :func:`read_npy` and :func:`load_npz` read ``.npy``/``.npz`` files the same
way: numeric members through numpy's own reader with ``allow_pickle=False``, object members
through :func:`loads`.
"""

from __future__ import annotations

import io
import math
import struct
import zipfile

import numpy as np

__all__ = ["loads", "read_npy", "load_npz"]

_RECONSTRUCT = "numpy _reconstruct"
_NDARRAY = "numpy.ndarray"
_DTYPE = "numpy.dtype"
_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _DTYPE,
}
_DESCRS = frozenset(
    ["b1", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "O4", "O8"]
)
_ORDERS = frozenset("<>|=")


class _Global:
    """One of the three allowed globals, as an inert token."""

    def __init__(self, name: str):
        self.name = name


class _Pending:
    """An array or dtype between ``REDUCE`` and ``BUILD``."""

    def __init__(self, kind: str, descr: str | None = None):
        self.kind, self.descr = kind, descr
        self.keys: list[int] = []  # the memo entries that refer to it


def _text(value: object) -> str | None:
    # Python 2 pickles hold their str as bytes (BINSTRING); treat both spellings alike.
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value if isinstance(value, str) else None


def _build_dtype(pending: _Pending, state: object) -> np.dtype:
    order = _text(state[1]) if isinstance(state, tuple) and len(state) >= 8 else None
    if order not in _ORDERS or state[0] not in (3, 4) or any(s is not None for s in state[2:5]):
        raise ValueError(f"a numpy dtype has the state {state!r}, not a plain dtype's")
    # "O4" is a 32-bit machine's object pointer: still just object.
    dtype = np.dtype(object if pending.descr.startswith("O") else pending.descr)
    return dtype.newbyteorder(order) if order in "<>" and dtype.itemsize > 1 else dtype


def _build_array(state: object) -> np.ndarray:
    if not (isinstance(state, tuple) and len(state) == 5 and state[0] == 1):
        raise ValueError(f"a numpy array has a state of type {type(state).__name__}, not numpy's")
    _, shape, dtype, fortran, data = state
    if not (
        isinstance(shape, tuple)
        and all(type(d) is int and d >= 0 for d in shape)
        and isinstance(dtype, np.dtype)
        and isinstance(fortran, bool)
    ):
        raise ValueError(f"a numpy array has shape {shape!r} and dtype {dtype!r}")
    order = "F" if fortran else "C"
    size = math.prod(shape)
    if dtype.hasobject:
        if not isinstance(data, list) or len(data) != size:
            raise ValueError(f"an object array of shape {shape} does not hold {size} items")
        out = np.empty(size, dtype=object)
        for i, item in enumerate(data):
            _check_plain(item)
            out[i] = item
        return out.reshape(shape)  # numpy lists an object array's items in C order, always
    if not isinstance(data, bytes) or len(data) != size * dtype.itemsize:
        got = len(data) if isinstance(data, bytes) else type(data).__name__
        raise ValueError(f"an array of shape {shape} and dtype {dtype} holds {got} bytes of data")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order=order).copy(order="K")


def _reduce(func: object, args: object) -> _Pending:
    name = func.name if isinstance(func, _Global) else None
    if name == _RECONSTRUCT:
        if (
            isinstance(args, tuple)
            and len(args) == 3
            and isinstance(args[0], _Global)
            and args[0].name == _NDARRAY
            and _text(args[2]) == "b"
        ):
            return _Pending("array")
    elif name == _DTYPE:
        descr = _text(args[0]) if isinstance(args, tuple) and len(args) == 3 else None
        if descr in _DESCRS:
            return _Pending("dtype", descr)
        raise ValueError(f"the dtype {descr!r} is not one of the plain dtypes {sorted(_DESCRS)}")
    raise ValueError(f"the call {getattr(func, 'name', func)!r}{args!r} is not numpy's array form")


def _check_plain(value: object) -> None:
    """Refuse a value that still holds a token or an unbuilt array (walks without recursion)."""
    todo, seen = [value], set()
    while todo:
        item = todo.pop()
        if isinstance(item, (_Global, _Pending)):
            what = item.name if isinstance(item, _Global) else f"unbuilt {item.kind}"
            raise ValueError(f"{what!r} is left in the data, not a plain value")
        if isinstance(item, (list, tuple, dict)) and id(item) not in seen:
            seen.add(id(item))
            todo.extend(item.items() if isinstance(item, dict) else item)


def _extend(target: object, items: list) -> None:
    if not isinstance(target, list):
        raise ValueError(f"the pickle appends to a {type(target).__name__}, not a list")
    target.extend(items)


def _set_items(target: object, items: list) -> None:
    if not isinstance(target, dict) or len(items) % 2:
        raise ValueError(f"the pickle sets items on a {type(target).__name__}, not a dict")
    for key, value in zip(items[::2], items[1::2], strict=True):
        if not isinstance(key, (str, bytes, int)):
            raise ValueError(f"the pickle has a dict key of type {type(key).__name__}")
        target[key] = value


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = memoryview(data), 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError(f"the pickle is truncated at byte {self.pos} (wanted {n} more)")
        out = self.data[self.pos : self.pos + n].tobytes()
        self.pos += n
        return out

    def unpack(self, fmt: str) -> int | float:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def line(self) -> str:
        end = bytes(self.data[self.pos : self.pos + 256]).find(b"\n")
        if end < 0:
            raise ValueError(f"the pickle has no end of line after byte {self.pos}")
        return self.take(end + 1)[:-1].decode("ascii")


# opcode -> the struct format of its length or value argument
_LENGTHS = {
    b"T": "<i", b"U": "<B", b"C": "<B", b"B": "<I", b"\x8e": "<Q", b"\x96": "<Q",  # bytes
    b"X": "<I", b"\x8c": "<B", b"\x8d": "<Q",  # str
}
_INTS = {b"J": "<i", b"K": "<B", b"M": "<H", b"G": ">d"}
_PUTS = {b"q": "<B", b"r": "<I"}
_GETS = {b"h": "<B", b"j": "<I"}


def loads(data: bytes) -> object:
    """Read one pickle of plain data and numpy arrays, running no code from it.

    See the module docstring for exactly what is accepted.

    Args:
        data: the pickle's bytes (protocol 2 or above, as Python 2's ``cPickle`` and numpy's
            ``np.save`` write them).

    Returns:
        The value: plain Python data (``str`` from Python 2 pickles comes back as ``bytes``)
        and numpy arrays.

    Raises:
        ValueError: the pickle holds anything else, or is truncated or malformed.

    Example:
        >>> import pickle
        >>> loads(pickle.dumps({"labels": [3, 1], "data": np.arange(4, dtype=np.uint8)}))
        {'labels': [3, 1], 'data': array([0, 1, 2, 3], dtype=uint8)}
        >>> loads(pickle.dumps(print))
        Traceback (most recent call last):
        ...
        ValueError: the pickle names builtins.print; only numpy's array globals are allowed
    """
    r = _Reader(data)
    stack: list = []
    marks: list[int] = []
    memo: dict[int, object] = {}

    def pop_mark() -> list:
        if not marks:
            raise ValueError("the pickle closes a MARK it never opened")
        start = marks.pop()
        items = stack[start:]
        del stack[start:]
        return items

    def top(n: int = 1) -> object:
        if len(stack) < n:
            raise ValueError(f"the pickle's stack underflows at byte {r.pos}")
        return stack[-n]

    def add_global(module: str, name: str) -> None:
        if (module, name) not in _GLOBALS:
            raise ValueError(
                f"the pickle names {module}.{name}; only numpy's array globals are allowed"
            )
        stack.append(_Global(_GLOBALS[module, name]))

    while True:
        op = r.take(1)
        if op == b".":  # STOP
            if len(stack) != 1 or marks:
                raise ValueError("the pickle stops with a malformed stack")
            value = stack.pop()
            _check_plain(value)
            return value
        if op == b"\x80":  # PROTO
            if r.unpack("<B") < 2:
                raise ValueError("the pickle's protocol is below 2, which numpy never writes")
        elif op == b"\x95":  # FRAME: a length prefix only
            r.unpack("<Q")
        elif op in _LENGTHS:
            raw = r.take(r.unpack(_LENGTHS[op]))
            stack.append(raw.decode("utf-8") if op in (b"X", b"\x8c", b"\x8d") else raw)
        elif op in _INTS:
            stack.append(r.unpack(_INTS[op]))
        elif op == b"\x8a":  # LONG1
            stack.append(int.from_bytes(r.take(r.unpack("<B")), "little", signed=True))
        elif op == b"\x8b":  # LONG4
            stack.append(int.from_bytes(r.take(r.unpack("<i")), "little", signed=True))
        elif op in (b"N", b"\x88", b"\x89"):
            stack.append({b"N": None, b"\x88": True, b"\x89": False}[op])
        elif op == b"(":
            marks.append(len(stack))
        elif op == b"]":
            stack.append([])
        elif op == b"}":
            stack.append({})
        elif op == b")":
            stack.append(())
        elif op == b"t":
            stack.append(tuple(pop_mark()))
        elif op in (b"\x85", b"\x86", b"\x87"):
            n = op[0] - 0x84
            top(n)
            items = tuple(stack[-n:])
            del stack[-n:]
            stack.append(items)
        elif op == b"a":  # APPEND
            value = top()
            stack.pop()
            _extend(top(), [value])
        elif op == b"e":  # APPENDS
            items = pop_mark()
            _extend(top(), items)
        elif op == b"s":  # SETITEM
            key, value = top(2), top()
            del stack[-2:]
            _set_items(top(), [key, value])
        elif op == b"u":  # SETITEMS
            items = pop_mark()
            _set_items(top(), items)
        elif op in _PUTS or op == b"\x94":  # BINPUT, LONG_BINPUT, MEMOIZE
            key = r.unpack(_PUTS[op]) if op in _PUTS else len(memo)
            memo[key] = top()
            if isinstance(memo[key], _Pending):
                memo[key].keys.append(key)
        elif op in _GETS:
            key = r.unpack(_GETS[op])
            if key not in memo:
                raise ValueError(f"the pickle refers to memo entry {key}, never stored")
            stack.append(memo[key])
        elif op == b"0":  # POP
            top()
            stack.pop()
        elif op == b"c":  # GLOBAL
            add_global(r.line(), r.line())
        elif op == b"\x93":  # STACK_GLOBAL
            module, name = top(2), top()
            del stack[-2:]
            if not (isinstance(module, str) and isinstance(name, str)):
                raise ValueError("the pickle names a global with non-string parts")
            add_global(module, name)
        elif op == b"R":  # REDUCE
            func, args = top(2), top()
            del stack[-2:]
            stack.append(_reduce(func, args))
        elif op == b"b":  # BUILD
            pending, state = top(2), top()
            del stack[-2:]
            if not isinstance(pending, _Pending):
                raise ValueError(f"the pickle sets the state of a {type(pending).__name__}")
            built = (
                _build_dtype(pending, state) if pending.kind == "dtype" else _build_array(state)
            )
            stack.append(built)
            # Later references (BINGET) must see the built value, as pickle's in-place BUILD.
            for key in pending.keys:
                if memo[key] is pending:
                    memo[key] = built
        else:
            raise ValueError(
                f"the pickle uses opcode {op!r} at byte {r.pos - 1}, which plain data and numpy "
                f"arrays never need"
            )


def read_npy(data: bytes) -> np.ndarray:
    """Read one ``.npy`` file's bytes: numeric arrays as numpy does, object arrays via :func:`loads`.

    Example:
        >>> buf = io.BytesIO()
        >>> np.save(buf, np.array([[1, 2], [3]], dtype=object))
        >>> read_npy(buf.getvalue())
        array([list([1, 2]), list([3])], dtype=object)
    """
    fp = io.BytesIO(data)
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
    elif version in ((2, 0), (3, 0)):
        # Version 3.0 differs from 2.0 only in the header's text encoding (UTF-8, not latin-1),
        # which does not change an ASCII header; numpy has no public 3.0 reader.
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
    else:
        raise ValueError(f"the .npy format version {version} is not one numpy writes")
    if not dtype.hasobject:
        fp.seek(0)
        return np.lib.format.read_array(fp, allow_pickle=False)
    array = loads(fp.read())
    if not isinstance(array, np.ndarray) or array.dtype != dtype or array.shape != shape:
        raise ValueError(f"the pickled array does not match its .npy header {dtype} {shape}")
    return array


def load_npz(file: str) -> dict[str, np.ndarray]:
    """Read every ``.npy`` member of an ``.npz`` file with :func:`read_npy`.

    Example:
        >>> import tempfile, os
        >>> file = os.path.join(tempfile.mkdtemp(), "a.npz")
        >>> np.savez(file, x=np.array([[1], [2, 3]], dtype=object), y=np.array([0, 1]))
        >>> load_npz(file)
        {'x': array([list([1]), list([2, 3])], dtype=object), 'y': array([0, 1])}
    """
    arrays = {}
    with zipfile.ZipFile(file) as archive:
        for member in archive.namelist():
            if member.endswith(".npy"):
                arrays[member[: -len(".npy")]] = read_npy(archive.read(member))
    return arrays
