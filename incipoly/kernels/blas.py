"""BLAS routines Numba's ``np.dot`` does not expose, callable from ``@njit`` code.

``syrk_lower(W, G)`` fills the lower triangle of ``G = W Wᵀ`` with one ``?syrk`` call: the
symmetric rank-k update does half the multiply–adds of a gemm and packs ``W`` once.

The routine comes from ``scipy.linalg.cython_blas`` (the BLAS Numba's own ``np.dot`` calls). Its
address is registered with LLVM under a fixed symbol name when this module is imported, and the
compiled code refers to that name, so ``cache=True`` functions that call it stay valid in a new
process (a raw address would not survive a restart).
"""
import llvmlite.binding as llvm
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import get_cython_function_address, intrinsic

_SYMBOLS = {types.float32: "incipoly_ssyrk", types.float64: "incipoly_dsyrk"}

for _symbol in _SYMBOLS.values():
    llvm.add_symbol(_symbol, get_cython_function_address("scipy.linalg.cython_blas",
                                                         _symbol.removeprefix("incipoly_")))


@intrinsic
def syrk_lower(typingctx, W, G):
    """Lower triangle of ``G ← W Wᵀ`` for C-contiguous ``W`` (n×m) and ``G`` (n×n), one dtype.

    In column-major terms ``W`` is ``A = Wᵀ`` (m×n, lda = m) and the call is
    ``?syrk(uplo='U', trans='T', n, k=m, 1, A, m, 0, C, n)``, ``C = AᵀA``: its upper triangle
    is the row-major lower triangle of ``G``. The upper triangle of ``G`` is left untouched.
    """
    if not (isinstance(W, types.Array) and isinstance(G, types.Array) and W.ndim == G.ndim == 2
            and W.layout == G.layout == "C" and W.dtype == G.dtype and W.dtype in _SYMBOLS):
        return None
    symbol = _SYMBOLS[W.dtype]

    def codegen(context, builder, signature, args):
        w = context.make_array(signature.args[0])(context, builder, args[0])
        g = context.make_array(signature.args[1])(context, builder, args[1])
        n, m = cgutils.unpack_tuple(builder, w.shape, 2)
        fp = context.get_value_type(signature.args[0].dtype)
        i8, i32 = ir.IntType(8), ir.IntType(32)

        def local(typ, value):
            ptr = cgutils.alloca_once(builder, typ)
            builder.store(value, ptr)
            return ptr

        n32, m32 = local(i32, builder.trunc(n, i32)), local(i32, builder.trunc(m, i32))
        args = [local(i8, i8(ord("U"))), local(i8, i8(ord("T"))), n32, m32,
                local(fp, fp(1.0)), w.data, m32, local(fp, fp(0.0)), g.data, n32]
        fnty = ir.FunctionType(ir.VoidType(), [a.type for a in args])
        builder.call(cgutils.get_or_insert_function(builder.module, fnty, symbol), args)
        return context.get_dummy_value()

    return types.void(W, G), codegen


__all__ = ["syrk_lower"]
