"""Two LLVM-level helpers for the numba kernels of the packet path: ``prefetch`` and ``borrowed``.

``borrowed(array)`` is the kernel's own view of an array its caller keeps alive, without
the array's reference count. Numba counts the references to an array each time a kernel
hands it to a helper (an inlined helper's arguments are new variables) or takes a row
view of it: an atomic increment and decrement of the shared count. Those locked
instructions also wait for every earlier store and keep later loads from starting
early, so in a loop over packets they cost more than the work itself: decoding took 45
against 21 ns a frame, the event kernel about twice its time. With a view whose count
pointer is null, each of them is a test and a jump. Use it for arguments only, never
for an array the kernel returns or keeps.
"""

from __future__ import annotations

from typing import Any

from numba.core import cgutils, types
from numba.extending import intrinsic


def _prefetch_intrinsic(typingctx: Any, array: Any, index: Any) -> Any:
    """Ask the CPU to bring ``array[index]`` into cache (LLVM's prefetch, read, high locality)."""
    signature = types.void(array, index)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        array_type = sig.args[0]
        view = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(  # type: ignore[no-untyped-call]
            context, builder, array_type, view, [args[1]], wraparound=False)
        ir = cgutils.ir  # type: ignore[attr-defined]  # llvmlite.ir, untyped
        byte_pointer = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        function = cgutils.get_or_insert_function(  # type: ignore[no-untyped-call]
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]),
            "llvm.prefetch.p0i8")
        builder.call(function, [builder.bitcast(pointer, byte_pointer), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return signature, codegen


def _borrowed_intrinsic(typingctx: Any, array: Any) -> Any:
    """The same array (data, shape, strides) with no reference count and no parent."""
    if not isinstance(array, types.Array):
        return None

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        source = context.make_array(array)(context, builder, args[0])
        view = context.make_array(array)(context, builder)
        for name in ("data", "shape", "strides", "itemsize", "nitems"):
            setattr(view, name, getattr(source, name))
        view.meminfo = cgutils.get_null_value(view.meminfo.type)  # type: ignore[no-untyped-call]
        view.parent = cgutils.get_null_value(view.parent.type)  # type: ignore[no-untyped-call]
        return view._getvalue()

    return array(array), codegen


#: ``prefetch(array, index)`` inside a kernel: a hint, never a read that can fail.
prefetch: Any = intrinsic(_prefetch_intrinsic)
#: ``buf = borrowed(buf)`` at the top of a kernel: see the module text.
borrowed: Any = intrinsic(_borrowed_intrinsic)
