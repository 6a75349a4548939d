/*
** axioms.c -- the operator axioms as data: a table of small term patterns
** over universally quantified variables, each with a one-line statement of
** its mathematics; the parser that turns a pattern text into a tsoV_Axiom;
** template expansion; and docs/axioms.md.
**
** The same parsed struct drives the Z3 assertions (encode.c), the exact
** validation (validate.c) and the documentation, so the three cannot
** drift apart. The table is the only list of axioms.
**
** Pattern language (docs/axioms.md has it with examples):
**   axiom  := [guard '=>'] concl
**   guard  := atom ('&' atom)*
**   atom   := iexpr ('=' | '!=' | '<' | '<=') iexpr | 'same' '(' term ',' term ')'
**           | 'alike' '(' term ',' term ',' iexpr ')'  (equal shapes except along an axis)
**   concl  := term ('=' | '->') term               tensor axiom
**           | 'shape' '(' term ')' '=' sexpr         shape axiom
**   term   := VAR | OP ['.' SLOT] ['{' NAME '=' value (',' ...)* '}'] '(' [term (',' term)*] ')'
**   value  := INT | enum name | VAR | '[' INT (',' INT)* ']'
**   iexpr  := sums and products ('+', '-', '*', '/') of INT, VAR,
**             'dim' '(' iexpr ',' term ')', 'rank' '(' term ')'
**   sexpr  := 'shape' '(' term ')' | 'setdim' '(' sexpr ',' iexpr ',' iexpr ')'
**           | 'bcast' '(' sexpr ',' sexpr ')' | 'dims' '(' iexpr, ... ')' | 'tuple' '(' rank, d0, ... ')'
** Templates, expanded before parsing: '@unary', '@ewbin', '@comm',
** '@const' stand for every operator of that class (from the ops.def
** flags); '$k' and '$j' stand for 0 and 1 ('$K', '$J' for 1 - k, 1 - j).
*/
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify/internal.h"

/* ---- the table ------------------------------------------------------- */

typedef struct Def {
  const char *group;  /* section */
  const char *name;
  const char *math;   /* one line */
  const char *side;   /* side condition in words, or NULL */
  const char *text;   /* the pattern */
  const char *trig;   /* explicit triggers, or NULL */
} Def;

#define G_EW "Element-wise algebra"
#define G_SM "Scalar multiplication"
#define G_MM "Matrix multiplication"
#define G_TR "Transpose"
#define G_CV "Convolution"
#define G_ID "Identity constants"
#define G_EN "Enlarge"
#define G_CS "Concat and split"
#define G_PL "Pooling"
#define G_SH "Shapes"

#define T10 "transpose{perm=[1,0]}"
#define CONV_P "sh=i,sw=j,pad=p"
#define CONV0 "conv2d{" CONV_P ",act=none}"
#define CONVR "conv2d{" CONV_P ",act=r}"
#define CONV1R "conv2d{sh=1,sw=1,pad=p,act=r}"
#define MAXP "maxpool{kh=u,kw=v," CONV_P "}"
#define AVGP "avgpool{kh=u,kw=v," CONV_P ",cip=c}"
#define MAXP1 "maxpool{kh=u,kw=v,sh=1,sw=1,pad=p}"
#define AVGP1 "avgpool{kh=u,kw=v,sh=1,sw=1,pad=p,cip=c}"
#define SPLITK(ax) "split.$k{axis=" ax ",parts=2}"
#define SAME_PAD "1 <= p & p <= 2"
#define ENL_SAME "rank(w1) = rank(w2) & dim(2, w1) = dim(2, w2) & dim(3, w1) = dim(3, w2)"
#define KONST(op) op "{rank=r,d0=e0,d1=e1,d2=e2,d3=e3}()"
#define IMAT "const_imatrix{rank=2,d0=n,d1=n}()"
#define ONESQ "const_ones{rank=2,d0=n,d1=n}()"
#define IKER "const_ikernel{rank=4,d0=c,d1=c,d2=u,d3=v}()"

static const Def defs[] = {
    /* ---- element-wise ---- */
    {G_EW, "ew-comm", "x ∘ y = y ∘ x", NULL, "@comm(x, y) = @comm(y, x)", NULL},
    {G_EW, "ew-assoc", "(x ∘ y) ∘ z = x ∘ (y ∘ z)", NULL, "@ewbin(@ewbin(x, y), z) = @ewbin(x, @ewbin(y, z))", NULL},
    {G_EW, "mul-distrib", "x ⊙ (y + z) = x ⊙ y + x ⊙ z", NULL,
     "ewmul(x, ewadd(y, z)) = ewadd(ewmul(x, y), ewmul(x, z))", NULL},

    /* ---- scalar multiplication ---- */
    {G_SM, "smul-add", "(x + y)·s = x·s + y·s", NULL, "smul(ewadd(x, y), s) = ewadd(smul(x, s), smul(y, s))", NULL},
    {G_SM, "smul-add-scalar", "x·(s + t) = x·s + x·t", NULL,
     "smul(x, ewadd(s, t)) = ewadd(smul(x, s), smul(x, t))", NULL},
    {G_SM, "smul-smul", "(x·s)·t = x·(s ⊙ t)", NULL, "smul(smul(x, s), t) = smul(x, ewmul(s, t))", NULL},
    {G_SM, "smul-mul", "(x ⊙ y)·s = (x·s) ⊙ y", NULL, "smul(ewmul(x, y), s) = ewmul(smul(x, s), y)", NULL},
    {G_SM, "smul-matmul-l", "(x @ y)·s = (x·s) @ y", NULL, "smul(matmul(x, y), s) = matmul(smul(x, s), y)", NULL},
    {G_SM, "smul-matmul-r", "(x @ y)·s = x @ (y·s)", NULL, "smul(matmul(x, y), s) = matmul(x, smul(y, s))", NULL},
    {G_SM, "smul-transpose", "xᵀ·s = (x·s)ᵀ", NULL, "smul(" T10 "(x), s) = " T10 "(smul(x, s))", NULL},
    {G_SM, "smul-conv-x", "(x ⊛ w)·s = (x·s) ⊛ w", "no fused relu",
     "smul(" CONV0 "(x, w), s) = " CONV0 "(smul(x, s), w)", NULL},
    {G_SM, "smul-conv-w", "(x ⊛ w)·s = x ⊛ (w·s)", "no fused relu",
     "smul(" CONV0 "(x, w), s) = " CONV0 "(x, smul(w, s))", NULL},
    {G_SM, "conv-smul-move", "(x·s) ⊛ w = x ⊛ (w·s), with or without the fused relu", NULL,
     CONVR "(smul(x, s), w) = " CONVR "(x, smul(w, s))", NULL},
    {G_SM, "smul-concat", "[x·s | y·s]ₐ = [x | y]ₐ·s", NULL,
     "concat{axis=a}(smul(x, s), smul(y, s)) = smul(concat{axis=a}(x, y), s)", NULL},
    {G_SM, "smul-split", "splitₖ(x·s) = splitₖ(x)·s", NULL,
     SPLITK("a") "(smul(x, s)) = smul(" SPLITK("a") "(x), s)", NULL},
    {G_SM, "smul-avgpool", "avgpool(x·s) = avgpool(x)·s", NULL, AVGP "(smul(x, s)) = smul(" AVGP "(x), s)", NULL},
    {G_SM, "smul-enlarge", "enlarge(w·s) = enlarge(w)·s", NULL,
     "enlarge{kh=u,kw=v}(smul(w, s)) = smul(enlarge{kh=u,kw=v}(w), s)", NULL},

    /* ---- matmul ---- */
    {G_MM, "matmul-assoc", "(x @ y) @ z = x @ (y @ z)", "x, y and z are matrices",
     "rank(x) = 2 & rank(y) = 2 & rank(z) = 2 => matmul(matmul(x, y), z) = matmul(x, matmul(y, z))", NULL},
    {G_MM, "matmul-add-r", "x @ (y + z) = x @ y + x @ z", "matrices; y and z have as many rows (columns may broadcast)",
     "rank(x) = 2 & rank(y) = 2 & rank(z) = 2 & dim(0, y) = dim(0, z) => "
     "matmul(x, ewadd(y, z)) = ewadd(matmul(x, y), matmul(x, z))",
     NULL},
    {G_MM, "matmul-add-l", "(x + y) @ z = x @ z + y @ z", "matrices; x and y have as many columns (rows may broadcast)",
     "rank(x) = 2 & rank(y) = 2 & rank(z) = 2 & dim(1, x) = dim(1, y) => "
     "matmul(ewadd(x, y), z) = ewadd(matmul(x, z), matmul(y, z))",
     NULL},
    {G_MM, "matmul-concat-rows", "[x | y]₀ @ z = [x @ z | y @ z]₀", "x and z are matrices",
     "rank(x) = 2 & rank(z) = 2 => matmul(concat{axis=0}(x, y), z) = concat{axis=0}(matmul(x, z), matmul(y, z))",
     NULL},
    {G_MM, "matmul-concat-cols", "x @ [y | z]₁ = [x @ y | x @ z]₁", "x and y are matrices",
     "rank(x) = 2 & rank(y) = 2 => matmul(x, concat{axis=1}(y, z)) = concat{axis=1}(matmul(x, y), matmul(x, z))",
     NULL},
    {G_MM, "matmul-concat-inner", "[x | y]₁ @ [z | w]₀ = x @ z + y @ w",
     "x and z are matrices and x has as many columns as z has rows",
     "rank(x) = 2 & rank(z) = 2 & dim(1, x) = dim(0, z) => "
     "matmul(concat{axis=1}(x, y), concat{axis=0}(z, w)) -> ewadd(matmul(x, z), matmul(y, w))",
     NULL},
    {G_MM, "matmul-split-rows", "splitₖ(x @ z)₀ = splitₖ(x)₀ @ z", "x and z are matrices",
     "rank(x) = 2 & rank(z) = 2 => " SPLITK("0") "(matmul(x, z)) = matmul(" SPLITK("0") "(x), z)", NULL},
    {G_MM, "matmul-split-cols", "splitₖ(x @ y)₁ = x @ splitₖ(y)₁", "x and y are matrices",
     "rank(x) = 2 & rank(y) = 2 => " SPLITK("1") "(matmul(x, y)) = matmul(x, " SPLITK("1") "(y))", NULL},

    /* ---- transpose (of matrices) ---- */
    {G_TR, "transpose-transpose", "(xᵀ)ᵀ = x", NULL, T10 "(" T10 "(x)) -> x", NULL},
    {G_TR, "transpose-matmul", "(x @ y)ᵀ = yᵀ @ xᵀ", "y is a matrix",
     "rank(y) = 2 => " T10 "(matmul(x, y)) = matmul(" T10 "(y), " T10 "(x))", NULL},
    {G_TR, "transpose-ew", "(x ∘ y)ᵀ = xᵀ ∘ yᵀ", "x and y are matrices (they may broadcast)",
     "rank(x) = 2 & rank(y) = 2 => " T10 "(@ewbin(x, y)) = @ewbin(" T10 "(x), " T10 "(y))", NULL},
    {G_TR, "transpose-unary", "f(x)ᵀ = f(xᵀ)", NULL, T10 "(@unary(x)) = @unary(" T10 "(x))", NULL},
    {G_TR, "transpose-concat", "[x | y]ₖᵀ = [xᵀ | yᵀ]₁₋ₖ", NULL,
     T10 "(concat{axis=$k}(x, y)) = concat{axis=$K}(" T10 "(x), " T10 "(y))", NULL},
    {G_TR, "transpose-split", "splitⱼ(x)ₖᵀ = splitⱼ(xᵀ)₁₋ₖ", NULL,
     T10 "(split.$j{axis=$k,parts=2}(x)) = split.$j{axis=$K,parts=2}(" T10 "(x))", NULL},

    /* ---- convolution ---- */
    {G_CV, "conv-add-x", "(x + y) ⊛ w = x ⊛ w + y ⊛ w", "x and y have one shape but for the batch; no fused relu",
     "alike(x, y, 0) => " CONV0 "(ewadd(x, y), w) = ewadd(" CONV0 "(x, w), " CONV0 "(y, w))", NULL},
    {G_CV, "conv-add-w", "x ⊛ (v + w) = x ⊛ v + x ⊛ w", "v and w have one shape but for the output channels; no fused relu",
     "alike(v, w, 0) => " CONV0 "(x, ewadd(v, w)) = ewadd(" CONV0 "(x, v), " CONV0 "(x, w))", NULL},
    {G_CV, "conv-relu", "x ⊛ᵣ w = relu(x ⊛ w): the fused relu", NULL,
     "conv2d{" CONV_P ",act=relu}(x, w) = relu(" CONV0 "(x, w))", NULL},
    {G_CV, "conv-concat-batch", "[x | y]₀ ⊛ w = [x ⊛ w | y ⊛ w]₀", "stride 1",
     CONV1R "(concat{axis=0}(x, y), w) = concat{axis=0}(" CONV1R "(x, w), " CONV1R "(y, w))", NULL},
    {G_CV, "conv-concat-kernels", "x ⊛ [v | w]₀ = [x ⊛ v | x ⊛ w]₁", NULL,
     CONVR "(x, concat{axis=0}(v, w)) -> concat{axis=1}(" CONVR "(x, v), " CONVR "(x, w))", NULL},
    {G_CV, "conv-concat-channels", "[x | y]₁ ⊛ [v | w]₁ = x ⊛ v + y ⊛ w",
     "x has as many channels as v; no fused relu",
     "dim(1, x) = dim(1, v) => " CONV0 "(concat{axis=1}(x, y), concat{axis=1}(v, w)) -> ewadd(" CONV0 "(x, v), " CONV0
     "(y, w))",
     NULL},
    {G_CV, "conv-split-batch", "splitₖ(x ⊛ w)₀ = splitₖ(x)₀ ⊛ w", NULL,
     SPLITK("0") "(" CONVR "(x, w)) = " CONVR "(" SPLITK("0") "(x), w)", NULL},
    {G_CV, "conv-split-out", "splitₖ(x ⊛ w)₁ = x ⊛ splitₖ(w)₀", NULL,
     SPLITK("1") "(" CONVR "(x, w)) = " CONVR "(x, " SPLITK("0") "(w))", NULL},

    /* ---- identity constants ---- */
    {G_ID, "conv-ikernel", "x ⊛ I = x, I the identity kernel", "stride 1, SAME padding",
     SAME_PAD " => conv2d{sh=1,sw=1,pad=p,act=none}(x, const_ikernel{rank=4,d0=c,d1=c,d2=u,d3=v}()) -> x", NULL},
    {G_ID, "matmul-imatrix-r", "x @ I = x, I the identity matrix", NULL,
     "matmul(x, const_imatrix{rank=2,d0=n,d1=n}()) -> x", NULL},
    {G_ID, "matmul-imatrix-l", "I @ x = x", NULL, "matmul(const_imatrix{rank=2,d0=n,d1=n}(), x) -> x", NULL},
    {G_ID, "mul-ones", "x ⊙ 1 = x, 1 the all-ones tensor", "the product has the shape of x",
     "same(ewmul(x, " KONST("const_ones") "), x) => ewmul(x, " KONST("const_ones") ") -> x", NULL},
    {G_ID, "conv-pool", "x ⊛ P = avgpool(x), P the average-pool kernel", "avgpool counts the padding",
     CONV0 "(x, const_pool{rank=4,d0=c,d1=c,d2=u,d3=v}()) -> avgpool{kh=u,kw=v," CONV_P ",cip=1}(x)", NULL},
    {G_ID, "mul-imatrix", "I ⊙ I = I", NULL,
     "ewmul(const_imatrix{rank=2,d0=n,d1=n}(), const_imatrix{rank=2,d0=n,d1=n}()) -> const_imatrix{rank=2,d0=n,d1=n}()",
     NULL},
    {G_ID, "mul-ikernel", "I ⊙ I = I for the identity kernel", NULL,
     "ewmul(const_ikernel{rank=4,d0=c,d1=c,d2=u,d3=v}(), const_ikernel{rank=4,d0=c,d1=c,d2=u,d3=v}()) -> "
     "const_ikernel{rank=4,d0=c,d1=c,d2=u,d3=v}()",
     NULL},
    {G_ID, "transpose-diag", "(x ⊙ I)ᵀ = x ⊙ I: a diagonal matrix is symmetric", NULL,
     "same(ewmul(x, " IMAT "), " IMAT ") => " T10 "(ewmul(x, " IMAT ")) -> ewmul(x, " IMAT ")", NULL},
    {G_ID, "diag-transpose", "xᵀ ⊙ I = x ⊙ I", "x is a matrix; both products have the shape of I",
     "rank(x) = 2 & same(ewmul(x, " IMAT "), " IMAT ") & same(ewmul(" T10 "(x), " IMAT "), " IMAT ") => ewmul(" T10 "(x), " IMAT ") = ewmul(x, " IMAT ")", NULL},
    {G_ID, "diag-matmul", "(x ⊙ I) @ (y ⊙ I) = (x ⊙ y) ⊙ I", "both products have the shape of I",
     "same(ewmul(x, " IMAT "), " IMAT ") & same(ewmul(y, " IMAT "), " IMAT ") => matmul(ewmul(x, " IMAT "), ewmul(y, " IMAT ")) = ewmul(ewmul(x, y), " IMAT ")", NULL},
    {G_ID, "relu-diag", "relu(x ⊙ I) = relu(x) ⊙ I, as relu(0) = 0 and relu(1·x) = relu(x)", NULL,
     "relu(ewmul(x, " IMAT ")) = ewmul(relu(x), " IMAT ")", NULL},
    {G_ID, "relu-ones", "relu(x ⊙ 1) = relu(x) ⊙ 1", NULL,
     "relu(ewmul(x, " KONST("const_ones") ")) = ewmul(relu(x), " KONST("const_ones") ")", NULL},
    {G_ID, "ones-absorb", "z ∘ (x ⊙ 1) = z ∘ x when z has the shape of 1: multiplying by 1 only broadcasts",
     "z has the constant's shape",
     "same(z, " KONST("const_ones") ") => @ewbin(z, ewmul(x, " KONST("const_ones") ")) -> @ewbin(z, x)", NULL},
    {G_ID, "ones-matmul-rows", "(x ⊙ 1) @ y = (x @ y) ⊙ 1: broadcasting rows commutes with matmul",
     "1 and y are n×n, x has n columns",
     "rank(x) = 2 & dim(1, x) = n & same(y, " ONESQ ") => matmul(ewmul(x, " ONESQ "), y) = "
     "ewmul(matmul(x, y), " ONESQ ")",
     NULL},
    {G_ID, "ones-matmul-cols", "y @ (x ⊙ 1) = (y @ x) ⊙ 1: broadcasting columns commutes with matmul",
     "1 and y are n×n, x has n rows",
     "rank(x) = 2 & dim(0, x) = n & same(y, " ONESQ ") => matmul(y, ewmul(x, " ONESQ ")) = "
     "ewmul(matmul(y, x), " ONESQ ")",
     NULL},
    {G_ID, "split-ones", "split₁(1)ₐ = split₀(1)ₐ: the halves of an all-ones tensor are equal", "an even size along a",
     "2 * (dim(a, " KONST("const_ones") ") / 2) = dim(a, " KONST("const_ones") ") => "
     "split.1{axis=a,parts=2}(" KONST("const_ones") ") -> split.0{axis=a,parts=2}(" KONST("const_ones") ")",
     NULL},
    {G_ID, "relu-smul-ones", "relu(1·s) = 1·relu(s): the entries of 1 are 0 or 1", NULL,
     "relu(smul(" KONST("const_ones") ", s)) = smul(" KONST("const_ones") ", relu(s))", NULL},
    {G_ID, "relu-smul-imatrix", "relu(I·s) = I·relu(s)", NULL,
     "relu(smul(" IMAT ", s)) = smul(" IMAT ", relu(s))", NULL},
    {G_ID, "relu-smul-ikernel", "relu(I·s) = I·relu(s) for the identity kernel", NULL,
     "relu(smul(" IKER ", s)) = smul(" IKER ", relu(s))", NULL},
    {G_ID, "relu-ikernel", "relu(x ⊙ I) = relu(x) ⊙ I for the identity kernel", NULL,
     "relu(ewmul(x, " IKER ")) = ewmul(relu(x), " IKER ")", NULL},
    {G_ID, "transpose-imatrix", "Iᵀ = I", NULL,
     T10 "(const_imatrix{rank=2,d0=n,d1=n}()) -> const_imatrix{rank=2,d0=n,d1=n}()", NULL},
    {G_ID, "transpose-ones", "1ᵀ = 1 (dims swapped)", NULL,
     T10 "(const_ones{rank=2,d0=a,d1=b}()) -> const_ones{rank=2,d0=b,d1=a}()", NULL},
    {G_ID, "enlarge-ikernel", "enlarge(I) = I, the larger identity kernel", NULL,
     "enlarge{kh=u,kw=v}(const_ikernel{rank=4,d0=c,d1=c,d2=a,d3=b}()) -> const_ikernel{rank=4,d0=c,d1=c,d2=u,d3=v}()",
     NULL},

    /* ---- enlarge ---- */
    {G_EN, "conv-enlarge", "x ⊛ enlarge(w) = x ⊛ w", "stride 1, SAME padding",
     SAME_PAD " => " CONV1R "(x, enlarge{kh=u,kw=v}(w)) -> " CONV1R "(x, w)", NULL},
    {G_EN, "enlarge-enlarge", "enlarge(enlarge(w)) = enlarge(w)", NULL,
     "enlarge{kh=u,kw=v}(enlarge{kh=a,kw=b}(w)) -> enlarge{kh=u,kw=v}(w)", NULL},
    {G_EN, "enlarge-add", "enlarge(v + w) = enlarge(v) + enlarge(w)", "v and w have the same kernel size",
     ENL_SAME " => enlarge{kh=u,kw=v}(ewadd(w1, w2)) = ewadd(enlarge{kh=u,kw=v}(w1), enlarge{kh=u,kw=v}(w2))",
     NULL},
    {G_EN, "enlarge-mul", "enlarge(v ⊙ w) = enlarge(v) ⊙ enlarge(w)", "v and w have the same kernel size",
     ENL_SAME " => enlarge{kh=u,kw=v}(ewmul(w1, w2)) = ewmul(enlarge{kh=u,kw=v}(w1), enlarge{kh=u,kw=v}(w2))",
     NULL},
    {G_EN, "enlarge-relu", "enlarge(relu(w)) = relu(enlarge(w)), as relu(0) = 0", NULL,
     "enlarge{kh=u,kw=v}(relu(w)) = relu(enlarge{kh=u,kw=v}(w))", NULL},
    {G_EN, "enlarge-tanh", "enlarge(tanh(w)) = tanh(enlarge(w)), as tanh(0) = 0", NULL,
     "enlarge{kh=u,kw=v}(tanh(w)) = tanh(enlarge{kh=u,kw=v}(w))", NULL},
    {G_EN, "enlarge-concat", "enlarge([v | w]ₐ) = [enlarge(v) | enlarge(w)]ₐ", "a is 0 or 1",
     "a < 2 => enlarge{kh=u,kw=v}(concat{axis=a}(w1, w2)) -> concat{axis=a}(enlarge{kh=u,kw=v}(w1), "
     "enlarge{kh=u,kw=v}(w2))",
     NULL},
    {G_EN, "enlarge-split", "enlarge(splitₖ(w)ₐ) = splitₖ(enlarge(w))ₐ", "a is 0 or 1",
     "a < 2 => enlarge{kh=u,kw=v}(" SPLITK("a") "(w)) = " SPLITK("a") "(enlarge{kh=u,kw=v}(w))", NULL},

    /* ---- concat and split ---- */
    {G_CS, "concat-assoc", "[[x | y]ₐ | z]ₐ = [x | [y | z]ₐ]ₐ", NULL,
     "concat{axis=a}(concat{axis=a}(x, y), z) = concat{axis=a}(x, concat{axis=a}(y, z))", NULL},
    {G_CS, "concat-interchange", "[[x | y]_b | [z | w]_b]ₐ = [[x | z]ₐ | [y | w]ₐ]_b",
     "a ≠ b; x and z equally long along b, x and y along a",
     "a != b & dim(b, x) = dim(b, z) & dim(a, x) = dim(a, y) => concat{axis=a}(concat{axis=b}(x, y), "
     "concat{axis=b}(z, w)) = concat{axis=b}(concat{axis=a}(x, z), concat{axis=a}(y, w))",
     NULL},
    {G_CS, "ew-concat", "[x ∘ y | z ∘ w]ₐ = [x | z]ₐ ∘ [y | w]ₐ",
     "x, z alike but along a, y, w too; x, y (and z, w) equally long along a",
     "alike(x, z, a) & alike(y, w, a) & rank(x) = rank(y) & dim(a, x) = dim(a, y) & dim(a, z) = dim(a, w) => "
     "concat{axis=a}(@ewbin(x, y), @ewbin(z, w)) = @ewbin(concat{axis=a}(x, z), concat{axis=a}(y, w))",
     NULL},
    {G_CS, "unary-concat", "[f(x) | f(y)]ₐ = f([x | y]ₐ)", NULL,
     "concat{axis=a}(@unary(x), @unary(y)) = @unary(concat{axis=a}(x, y))", NULL},
    {G_CS, "split-concat-first", "split₀([x | y]ₐ)ₐ = x", "x and y equally long along a",
     "dim(a, x) = dim(a, y) => split.0{axis=a,parts=2}(concat{axis=a}(x, y)) -> x", NULL},
    {G_CS, "split-concat-second", "split₁([x | y]ₐ)ₐ = y", "x and y equally long along a",
     "dim(a, x) = dim(a, y) => split.1{axis=a,parts=2}(concat{axis=a}(x, y)) -> y", NULL},
    {G_CS, "split-concat3-first", "split₀([[x | y]ₐ | z]ₐ)ₐ = [x | split₀(y)ₐ]ₐ", "x and z equally long along a, y at least 2",
     "dim(a, x) = dim(a, z) & 2 <= dim(a, y) => split.0{axis=a,parts=2}(concat{axis=a}(concat{axis=a}(x, y), z)) -> "
     "concat{axis=a}(x, split.0{axis=a,parts=2}(y))",
     NULL},
    {G_CS, "split-concat3-second", "split₁([[x | y]ₐ | z]ₐ)ₐ = [split₁(y)ₐ | z]ₐ", "x and z equally long along a, y at least 2",
     "dim(a, x) = dim(a, z) & 2 <= dim(a, y) => split.1{axis=a,parts=2}(concat{axis=a}(concat{axis=a}(x, y), z)) -> "
     "concat{axis=a}(split.1{axis=a,parts=2}(y), z)",
     NULL},
    {G_CS, "concat-split", "[split₀(x)ₐ | split₁(x)ₐ]ₐ = x", NULL,
     "concat{axis=a}(split.0{axis=a,parts=2}(x), split.1{axis=a,parts=2}(x)) -> x", NULL},
    {G_CS, "split-concat-other", "splitₖ([x | y]_b)ₐ = [splitₖ(x)ₐ | splitₖ(y)ₐ]_b", "a ≠ b; x and y equally long along a",
     "a != b & dim(a, x) = dim(a, y) => " SPLITK("a") "(concat{axis=b}(x, y)) = concat{axis=b}(" SPLITK("a") "(x), "
     SPLITK("a") "(y))",
     NULL},
    {G_CS, "split-split", "splitₖ(splitⱼ(x)_b)ₐ = splitⱼ(splitₖ(x)ₐ)_b", "a ≠ b",
     "a != b => " SPLITK("a") "(split.$j{axis=b,parts=2}(x)) = split.$j{axis=b,parts=2}(" SPLITK("a") "(x))", NULL},
    {G_CS, "ew-split", "splitₖ(x ∘ y) = splitₖ(x) ∘ splitₖ(y)", "x and y equally long along a",
     "rank(x) = rank(y) & dim(a, x) = dim(a, y) => " SPLITK("a") "(@ewbin(x, y)) = @ewbin(" SPLITK("a") "(x), " SPLITK("a") "(y))", NULL},
    {G_CS, "unary-split", "splitₖ(f(x)) = f(splitₖ(x))", NULL,
     SPLITK("a") "(@unary(x)) = @unary(" SPLITK("a") "(x))", NULL},

    /* ---- pooling ---- */
    {G_PL, "maxpool-concat", "maxpool([x | y]ₐ) = [maxpool(x) | maxpool(y)]ₐ", "a is 0 or 1 (batch, channels); stride 1",
     "a < 2 => " MAXP1 "(concat{axis=a}(x, y)) = concat{axis=a}(" MAXP1 "(x), " MAXP1 "(y))", NULL},
    {G_PL, "avgpool-concat", "avgpool([x | y]ₐ) = [avgpool(x) | avgpool(y)]ₐ", "a is 0 or 1; stride 1",
     "a < 2 => " AVGP1 "(concat{axis=a}(x, y)) = concat{axis=a}(" AVGP1 "(x), " AVGP1 "(y))", NULL},
    {G_PL, "maxpool-split", "splitₖ(maxpool(x))ₐ = maxpool(splitₖ(x)ₐ)", "a is 0 or 1",
     "a < 2 => " SPLITK("a") "(" MAXP "(x)) = " MAXP "(" SPLITK("a") "(x))", NULL},
    {G_PL, "avgpool-split", "splitₖ(avgpool(x))ₐ = avgpool(splitₖ(x)ₐ)", "a is 0 or 1",
     "a < 2 => " SPLITK("a") "(" AVGP "(x)) = " AVGP "(" SPLITK("a") "(x))", NULL},
    {G_PL, "avgpool-conv1x1", "avgpool(x ⊛ w) = avgpool(x) ⊛ w for a 1×1 kernel w", "w is 1×1; stride 1; no fused relu",
     "dim(2, w) = 1 & dim(3, w) = 1 => " AVGP "(conv2d{sh=1,sw=1,pad=q,act=none}(x, w)) = "
     "conv2d{sh=1,sw=1,pad=q,act=none}(" AVGP "(x), w)",
     NULL},
    {G_PL, "avgpool-add", "avgpool(x + y) = avgpool(x) + avgpool(y)", "x and y have the same spatial size",
     "rank(x) = rank(y) & dim(2, x) = dim(2, y) & dim(3, x) = dim(3, y) => " AVGP "(ewadd(x, y)) = ewadd(" AVGP "(x), " AVGP "(y))", NULL},

    /* ---- shapes ---- */
    {G_SH, "shape-unary", "f(x) has the shape of x", NULL, "shape(@unary(x)) = shape(x)", NULL},
    {G_SH, "shape-ewbin", "x ∘ y has the broadcast shape of x and y", "x and y have the same rank",
     "rank(x) = rank(y) => shape(@ewbin(x, y)) = bcast(shape(x), shape(y))", NULL},
    {G_SH, "shape-smul", "x·s has the shape of x", NULL, "shape(smul(x, s)) = shape(x)", NULL},
    {G_SH, "shape-matmul", "[m, k] @ [k, n] is [m, n]", "x and y are matrices",
     "rank(x) = 2 & rank(y) = 2 => shape(matmul(x, y)) = dims(dim(0, x), dim(1, y))", NULL},
    {G_SH, "shape-transpose", "[m, n]ᵀ is [n, m]", NULL, "shape(" T10 "(x)) = dims(dim(1, x), dim(0, x))", NULL},
    {G_SH, "shape-concat", "[x | y]ₐ is x with dₐ(x) + dₐ(y) along a", NULL,
     "shape(concat{axis=a}(x, y)) = setdim(shape(x), a, dim(a, x) + dim(a, y))", NULL},
    {G_SH, "shape-split-first", "split₀(x)ₐ has ⌈dₐ(x)/2⌉ along a", NULL,
     "shape(split.0{axis=a,parts=2}(x)) = setdim(shape(x), a, (dim(a, x) + 1) / 2)", NULL},
    {G_SH, "shape-split-second", "split₁(x)ₐ has ⌊dₐ(x)/2⌋ along a", NULL,
     "shape(split.1{axis=a,parts=2}(x)) = setdim(shape(x), a, dim(a, x) / 2)", NULL},
    {G_SH, "shape-conv", "[n, c, h, w] ⊛ [m, c, kh, kw] is [n, m, ⌈h/sh⌉, ⌈w/sw⌉]", "SAME padding",
     SAME_PAD " => shape(" CONVR "(x, w)) = dims(dim(0, x), dim(0, w), (dim(2, x) + i - 1) / i, (dim(3, x) + j - 1) / j)",
     NULL},
    {G_SH, "shape-maxpool", "maxpool([n, c, h, w]) is [n, c, ⌈h/sh⌉, ⌈w/sw⌉]", "SAME padding",
     SAME_PAD " => shape(" MAXP "(x)) = dims(dim(0, x), dim(1, x), (dim(2, x) + i - 1) / i, (dim(3, x) + j - 1) / j)",
     NULL},
    {G_SH, "shape-avgpool", "avgpool([n, c, h, w]) is [n, c, ⌈h/sh⌉, ⌈w/sw⌉]", "SAME padding",
     SAME_PAD " => shape(" AVGP "(x)) = dims(dim(0, x), dim(1, x), (dim(2, x) + i - 1) / i, (dim(3, x) + j - 1) / j)",
     NULL},
    {G_SH, "shape-enlarge", "enlarge(w) is [m, c, kh, kw]", NULL,
     "shape(enlarge{kh=u,kw=v}(w)) = dims(dim(0, w), dim(1, w), u, v)", NULL},
    {G_SH, "shape-const", "a constant has the shape of its parameters", NULL,
     "shape(" KONST("@const") ") = tuple(r, e0, e1, e2, e3)", NULL},
};

#define NDEFS ((int)(sizeof defs / sizeof defs[0]))

/* ---- parser ---------------------------------------------------------- */

typedef struct Ps {
  tsoV_Axiom *a;
  const char *s, *p;   /* text, cursor */
  char *err;
  int failed;
} Ps;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int perr(Ps *ps, const char *fmt, ...) {
  char msg[TSO_ERRMAX];
  va_list ap;
  if (ps->failed) return -1;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  tsoO_fail(ps->err, TSO_ERR_PARSE, "axiom %s, column %d: %s", ps->a->name, (int)(ps->p - ps->s) + 1, msg);
  ps->failed = 1;
  return -1;
}

static void ws(Ps *ps) {
  while (*ps->p == ' ' || *ps->p == '\t') ps->p++;
}

static int isid(int c, int first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

static int accept(Ps *ps, const char *lit) {
  ws(ps);
  size_t n = strlen(lit);
  if (strncmp(ps->p, lit, n)) return 0;
  /* "=" must not eat "=>", "<" not "<=" */
  if (!strcmp(lit, "=") && ps->p[1] == '>') return 0;
  if (!strcmp(lit, "<") && ps->p[1] == '=') return 0;
  if (!strcmp(lit, "-") && ps->p[1] == '>') return 0;
  ps->p += n;
  return 1;
}

static int expect(Ps *ps, const char *lit) {
  if (accept(ps, lit)) return 0;
  return perr(ps, "expected '%s'", lit);
}

/* An identifier into id (cap bytes), or -1. */
static int ident(Ps *ps, char *id, size_t cap) {
  ws(ps);
  size_t n = 0;
  if (!isid((unsigned char)*ps->p, 1)) return -1;
  while (isid((unsigned char)ps->p[n], 0)) n++;
  if (n >= cap) return perr(ps, "name too long");
  memcpy(id, ps->p, n);
  id[n] = 0;
  ps->p += n;
  return 0;
}

static int peek_ident(Ps *ps, const char *kw) {
  ws(ps);
  size_t n = strlen(kw);
  return !strncmp(ps->p, kw, n) && !isid((unsigned char)ps->p[n], 0);
}

static int integer(Ps *ps, int32_t *v) {
  ws(ps);
  const char *q = ps->p;
  int neg = 0;
  long x = 0;
  if (*q == '-') neg = 1, q++;
  if (*q < '0' || *q > '9') return perr(ps, "expected a number");
  while (*q >= '0' && *q <= '9') {
    x = x * 10 + (*q++ - '0');
    if (x > 1000000) return perr(ps, "number out of range");
  }
  ps->p = q;
  *v = (int32_t)(neg ? -x : x);
  return 0;
}

static int new_node(Ps *ps, int kind) {
  tsoV_Axiom *a = ps->a;
  if (a->nn >= TSO_V_MAX_NODES) return perr(ps, "more than %d nodes", TSO_V_MAX_NODES);
  tsoV_Node *n = &a->n[a->nn];
  memset(n, 0, sizeof *n);
  n->kind = (uint8_t)kind;
  memset(n->pvar, -1, sizeof n->pvar);
  for (int i = 0; i < 5; i++) n->a[i] = -1;
  return a->nn++;
}

/* Index of variable `name` of the given class (0 tensor, 1 integer),
** created if new; -1 on a clash with the other class. */
static int var_index(Ps *ps, const char *name, int integer_var) {
  tsoV_Axiom *a = ps->a;
  char(*own)[8] = integer_var ? a->iv : a->tv;
  char(*other)[8] = integer_var ? a->tv : a->iv;
  uint8_t *n = integer_var ? &a->niv : &a->ntv;
  int nother = integer_var ? a->ntv : a->niv;
  for (int i = 0; i < nother; i++)
    if (!strcmp(other[i], name))
      return perr(ps, "'%s' is used both as a tensor and as an integer", name);
  for (int i = 0; i < *n; i++)
    if (!strcmp(own[i], name)) return i;
  if (*n >= TSO_V_MAX_VARS) return perr(ps, "more than %d variables", TSO_V_MAX_VARS);
  if (strlen(name) >= sizeof own[0]) return perr(ps, "variable name '%s' too long", name);
  strcpy(own[*n], name);
  return (*n)++;
}

static int op_by_name(const char *name) {
  for (int op = 1; op < TSO_OP__END; op++) {
    const tsoO_Info *oi = tsoO_info(op);
    if (oi && !strcmp(oi->name, name)) return op;
  }
  return 0;
}

static int term(Ps *ps);
static int iexpr(Ps *ps);

/* One parameter assignment name=value of node k. */
static int param(Ps *ps, int k) {
  char name[24], v[24];
  tsoV_Node *n = &ps->a->n[k];
  if (ident(ps, name, sizeof name)) return perr(ps, "expected a parameter name");
  const tsoV_Param *d = tsoV_params_of(n->op);
  while (d->name && strcmp(d->name, name)) d++;
  if (!d->name) return perr(ps, "%s has no parameter '%s'", tsoO_info(n->op)->name, name);
  if (expect(ps, "=")) return -1;
  ws(ps);
  if (d->list) {
    int32_t x;
    int cnt = 0;
    if (expect(ps, "[")) return -1;
    do {
      if (integer(ps, &x)) return -1;
      if (cnt >= TSO_MAX_RANK) return perr(ps, "list too long");
      n->p.raw[d->word + 1 + cnt++] = x;
    } while (accept(ps, ","));
    n->p.raw[d->word] = cnt;
    return expect(ps, "]");
  }
  if ((*ps->p >= '0' && *ps->p <= '9') || *ps->p == '-') {
    int32_t x;
    if (integer(ps, &x)) return -1;
    n->p.raw[d->word] = x;
    return 0;
  }
  if (ident(ps, v, sizeof v)) return perr(ps, "expected a value for '%s'", name);
  if (d->enums)
    for (int i = 0; d->enums[i]; i++)
      if (!strcmp(d->enums[i], v)) {
        n->p.raw[d->word] = i;
        return 0;
      }
  if (!d->enc) return perr(ps, "parameter '%s' cannot be a variable", name);
  int iv = var_index(ps, v, 1);
  if (iv < 0) return -1;
  n = &ps->a->n[k];
  n->pvar[d->word] = (int8_t)iv;
  n->p.raw[d->word] = 0;
  return 0;
}

/* term := VAR | OP['.'SLOT]['{'params'}']'(' terms ')' */
static int term(Ps *ps) {
  char name[32];
  ws(ps);
  if (ident(ps, name, sizeof name)) return perr(ps, "expected a term");
  int op = op_by_name(name);
  ws(ps);
  if (!op || (*ps->p != '(' && *ps->p != '{' && *ps->p != '.')) {
    if (op) return perr(ps, "operator '%s' without arguments", name);
    int v = var_index(ps, name, 0);
    if (v < 0) return -1;
    int k = new_node(ps, TSO_VN_TVAR);
    if (k < 0) return -1;
    ps->a->n[k].val = v;
    return k;
  }
  const tsoO_Info *oi = tsoO_info(op);
  int k = new_node(ps, TSO_VN_APP);
  if (k < 0) return -1;
  tsoV_Node *n = &ps->a->n[k];
  n->op = (uint16_t)op;
  n->nout = (uint8_t)oi->min_out;
  tsoV_params_default(op, &n->p);
  if (*ps->p == '.') {
    int32_t s;
    ps->p++;
    if (integer(ps, &s)) return -1;
    if (s < 0 || s >= 16) return perr(ps, "bad output slot %d", (int)s);
    n->slot = (uint8_t)s;
  }
  if (accept(ps, "{")) {
    if (!accept(ps, "}")) {
      do
        if (param(ps, k)) return -1;
      while (accept(ps, ","));
      if (expect(ps, "}")) return -1;
    }
  }
  n = &ps->a->n[k];
  if (op == TSO_OP_SPLIT) {
    if (n->pvar[offsetof(tsoO_Params, split.sizes) / 4] >= 0) return perr(ps, "split: parts must be a number");
    n->nout = (uint8_t)n->p.split.sizes[0];
  }
  if (n->slot >= n->nout) return perr(ps, "%s has no output %d", oi->name, n->slot);
  if (expect(ps, "(")) return -1;
  int nin = 0;
  if (!accept(ps, ")")) {
    do {
      if (nin >= 4) return perr(ps, "more than 4 arguments");
      int c = term(ps);
      if (c < 0) return -1;
      ps->a->n[k].a[nin++] = (int16_t)c;
    } while (accept(ps, ","));
    if (expect(ps, ")")) return -1;
  }
  n = &ps->a->n[k];
  n->nin = (uint8_t)nin;
  if (nin < oi->min_in || nin > oi->max_in)
    return perr(ps, "%s takes %d to %d inputs, not %d", oi->name, oi->min_in, oi->max_in, nin);
  return k;
}

static int bin(Ps *ps, int kind, int l, int r) {
  int k = new_node(ps, kind);
  if (k < 0) return -1;
  ps->a->n[k].a[0] = (int16_t)l;
  ps->a->n[k].a[1] = (int16_t)r;
  ps->a->n[k].nin = 2;
  return k;
}

/* iatom := INT | VAR | dim(iexpr, term) | rank(term) | '(' iexpr ')' */
static int iatom(Ps *ps) {
  char name[24];
  ws(ps);
  if (*ps->p == '(') {
    ps->p++;
    int k = iexpr(ps);
    if (k < 0 || expect(ps, ")")) return -1;
    return k;
  }
  if ((*ps->p >= '0' && *ps->p <= '9') || *ps->p == '-') {
    int k = new_node(ps, TSO_VN_INT);
    if (k < 0 || integer(ps, &ps->a->n[k].val)) return -1;
    return k;
  }
  if (peek_ident(ps, "dim")) {
    ident(ps, name, sizeof name);
    if (expect(ps, "(")) return -1;
    int ax = iexpr(ps);
    if (ax < 0 || expect(ps, ",")) return -1;
    int t = term(ps);
    if (t < 0 || expect(ps, ")")) return -1;
    return bin(ps, TSO_VN_DIM, ax, t);
  }
  if (peek_ident(ps, "rank")) {
    ident(ps, name, sizeof name);
    if (expect(ps, "(")) return -1;
    int t = term(ps);
    if (t < 0 || expect(ps, ")")) return -1;
    int k = new_node(ps, TSO_VN_RANK);
    if (k < 0) return -1;
    ps->a->n[k].a[0] = (int16_t)t;
    ps->a->n[k].nin = 1;
    return k;
  }
  if (ident(ps, name, sizeof name)) return perr(ps, "expected an integer expression");
  if (op_by_name(name)) return perr(ps, "operator '%s' in an integer expression", name);
  int v = var_index(ps, name, 1);
  if (v < 0) return -1;
  int k = new_node(ps, TSO_VN_IVAR);
  if (k < 0) return -1;
  ps->a->n[k].val = v;
  return k;
}

static int iprod(Ps *ps) {
  int l = iatom(ps);
  while (l >= 0) {
    if (accept(ps, "*")) l = bin(ps, TSO_VN_MUL, l, iatom(ps));
    else if (accept(ps, "/")) l = bin(ps, TSO_VN_DIV, l, iatom(ps));
    else break;
    if (ps->failed) return -1;
  }
  return l;
}

static int iexpr(Ps *ps) {
  int l = iprod(ps);
  while (l >= 0) {
    if (accept(ps, "+")) l = bin(ps, TSO_VN_ADD, l, iprod(ps));
    else if (accept(ps, "-")) l = bin(ps, TSO_VN_SUB, l, iprod(ps));
    else break;
    if (ps->failed) return -1;
  }
  return l;
}

/* sexpr := shape(term) | setdim(sexpr, iexpr, iexpr) | bcast(sexpr, sexpr) | dims(iexpr, ...) | tuple(iexpr, ...) */
static int sexpr(Ps *ps) {
  char name[24];
  if (ident(ps, name, sizeof name)) return perr(ps, "expected a shape expression");
  if (expect(ps, "(")) return -1;
  int k;
  if (!strcmp(name, "shape")) {
    int t = term(ps);
    if (t < 0 || (k = new_node(ps, TSO_VN_SHAPE)) < 0) return -1;
    ps->a->n[k].a[0] = (int16_t)t;
    ps->a->n[k].nin = 1;
  } else if (!strcmp(name, "setdim")) {
    int s = sexpr(ps);
    if (s < 0 || expect(ps, ",")) return -1;
    int ax = iexpr(ps);
    if (ax < 0 || expect(ps, ",")) return -1;
    int v = iexpr(ps);
    if (v < 0 || (k = new_node(ps, TSO_VN_SETDIM)) < 0) return -1;
    tsoV_Node *n = &ps->a->n[k];
    n->a[0] = (int16_t)s, n->a[1] = (int16_t)ax, n->a[2] = (int16_t)v, n->nin = 3;
  } else if (!strcmp(name, "bcast")) {
    int l = sexpr(ps);
    if (l < 0 || expect(ps, ",")) return -1;
    int r = sexpr(ps);
    if (r < 0 || (k = new_node(ps, TSO_VN_BCAST)) < 0) return -1;
    ps->a->n[k].a[0] = (int16_t)l, ps->a->n[k].a[1] = (int16_t)r, ps->a->n[k].nin = 2;
  } else if (!strcmp(name, "dims") || !strcmp(name, "tuple")) {
    int kind = name[0] == 'd' ? TSO_VN_DIMS : TSO_VN_TUPLE, c[5], nc = 0;
    do {
      if (nc >= 5) return perr(ps, "too many dims");
      if ((c[nc++] = iexpr(ps)) < 0) return -1;
    } while (accept(ps, ","));
    if ((k = new_node(ps, kind)) < 0) return -1;
    for (int i = 0; i < nc; i++) ps->a->n[k].a[i] = (int16_t)c[i];
    ps->a->n[k].nin = (uint8_t)nc;
    if (kind == TSO_VN_DIMS && nc > 4) return perr(ps, "dims() takes at most 4 dims");
  } else {
    return perr(ps, "unknown shape expression '%s'", name);
  }
  if (expect(ps, ")")) return -1;
  return k;
}

static int atom(Ps *ps) {
  tsoV_Axiom *a = ps->a;
  if (a->na >= TSO_V_MAX_ATOMS) return perr(ps, "more than %d guard atoms", TSO_V_MAX_ATOMS);
  tsoV_Atom *g = &a->g[a->na];
  if (peek_ident(ps, "same") || peek_ident(ps, "alike")) {
    char name[8];
    ident(ps, name, sizeof name);
    int alike = name[0] == 'a', x = -1;
    if (expect(ps, "(")) return -1;
    int l = term(ps);
    if (l < 0 || expect(ps, ",")) return -1;
    int r = term(ps);
    if (r < 0) return -1;
    if (alike && (expect(ps, ",") || (x = iexpr(ps)) < 0)) return -1;
    if (expect(ps, ")")) return -1;
    a->g[a->na++] = (tsoV_Atom){(uint8_t)(alike ? TSO_VA_ALIKE : TSO_VA_SAME), (int16_t)l, (int16_t)r, (int16_t)x};
    return 0;
  }
  int l = iexpr(ps), kind;
  if (l < 0) return -1;
  if (accept(ps, "!=")) kind = TSO_VA_NE;
  else if (accept(ps, "<=")) kind = TSO_VA_LE;
  else if (accept(ps, "<")) kind = TSO_VA_LT;
  else if (accept(ps, "=")) kind = TSO_VA_EQ;
  else return perr(ps, "expected a comparison");
  int r = iexpr(ps);
  if (r < 0) return -1;
  g = &a->g[a->na++];
  *g = (tsoV_Atom){(uint8_t)kind, (int16_t)l, (int16_t)r, -1};
  return 0;
}

/* Bit masks of the variables below node k: tensor vars in bits 0..7,
** integer vars in bits 8..15. */
static unsigned vars_of(const tsoV_Axiom *a, int k) {
  const tsoV_Node *n = &a->n[k];
  unsigned m = 0;
  if (n->kind == TSO_VN_TVAR) m |= 1u << n->val;
  if (n->kind == TSO_VN_IVAR) m |= 1u << (8 + n->val);
  if (n->kind == TSO_VN_APP)
    for (int w = 0; w < 32; w++)
      if (n->pvar[w] >= 0) m |= 1u << (8 + n->pvar[w]);
  for (int i = 0; i < n->nin; i++) m |= vars_of(a, n->a[i]);
  return m;
}

static unsigned all_vars(const tsoV_Axiom *a) {
  return ((1u << a->ntv) - 1) | (((1u << a->niv) - 1) << 8);
}

/* Sets the validation domain of every integer variable from the first
** parameter it is bound to. */
static int set_domains(Ps *ps) {
  tsoV_Axiom *a = ps->a;
  unsigned seen = 0;
  for (int k = 0; k < a->nn; k++) {
    const tsoV_Node *n = &a->n[k];
    if (n->kind != TSO_VN_APP) continue;
    for (const tsoV_Param *d = tsoV_params_of(n->op); d->name; d++) {
      int v = d->list ? -1 : n->pvar[d->word];
      if (v >= 0 && !(seen & (1u << v))) {
        a->idom[v] = d->dom;
        seen |= 1u << v;
      }
    }
  }
  for (int v = 0; v < a->niv; v++)
    if (!(seen & (1u << v))) return perr(ps, "integer variable '%s' is not bound to a parameter", a->iv[v]);
  return 0;
}

/* Parses the explicit triggers "t, t | t". */
static int triggers(Ps *ps, const char *trig) {
  tsoV_Axiom *a = ps->a;
  ps->s = ps->p = trig;
  for (;;) {
    if (a->ntrig >= TSO_V_MAX_TRIG) return perr(ps, "too many trigger groups");
    int g = a->ntrig++;
    a->ntt[g] = 0;
    do {
      if (a->ntt[g] >= TSO_V_MAX_TTERMS) return perr(ps, "too many terms in a trigger");
      int k = peek_ident(ps, "shape") ? sexpr(ps) : term(ps);
      if (k < 0) return -1;
      a->trig[g][a->ntt[g]++] = (int16_t)k;
    } while (accept(ps, ","));
    if (!accept(ps, "|")) break;
  }
  ws(ps);
  if (*ps->p) return perr(ps, "unexpected text in the triggers");
  return 0;
}

tso_status tsoV_axiom_parse(const char *name, const char *group, const char *math, const char *side,
                            const char *text, const char *trig, tsoV_Axiom *a, char *err) {
  memset(a, 0, sizeof *a);
  snprintf(a->name, sizeof a->name, "%s", name);
  a->group = group;
  a->math = math;
  a->side = side;
  a->lhs = a->rhs = -1;
  if (strlen(text) >= sizeof a->text) return tsoO_fail(err, TSO_ERR_LIMIT, "axiom %s: text too long", name);
  strcpy(a->text, text);
  Ps ps = {a, a->text, a->text, err, 0};
  const char *arrow = strstr(a->text, "=>");
  if (arrow) {
    do
      if (atom(&ps)) return TSO_ERR_PARSE;
    while (accept(&ps, "&"));
    ws(&ps);
    if (ps.p != arrow) return perr(&ps, "expected '&' or '=>'"), TSO_ERR_PARSE;
    ps.p += 2;
  }
  if (peek_ident(&ps, "shape")) {
    a->kind = TSO_VX_SHAPE;
    if ((a->lhs = (int16_t)sexpr(&ps)) < 0 || expect(&ps, "=") || (a->rhs = (int16_t)sexpr(&ps)) < 0)
      return TSO_ERR_PARSE;
    if (a->n[a->lhs].kind != TSO_VN_SHAPE || a->n[a->n[a->lhs].a[0]].kind != TSO_VN_APP)
      return perr(&ps, "a shape axiom starts with shape(op(...))"), TSO_ERR_PARSE;
  } else {
    a->kind = TSO_VX_TENSOR;
    if ((a->lhs = (int16_t)term(&ps)) < 0) return TSO_ERR_PARSE;
    if (accept(&ps, "->")) a->oriented = 1;
    else if (expect(&ps, "=")) return TSO_ERR_PARSE;
    if ((a->rhs = (int16_t)term(&ps)) < 0) return TSO_ERR_PARSE;
    if (a->n[a->lhs].kind != TSO_VN_APP) return perr(&ps, "the left side must be an operator"), TSO_ERR_PARSE;
  }
  ws(&ps);
  if (*ps.p) return perr(&ps, "unexpected text"), TSO_ERR_PARSE;
  if (set_domains(&ps)) return TSO_ERR_PARSE;
  unsigned want = all_vars(a);
  if (trig && *trig) {
    if (triggers(&ps, trig)) return TSO_ERR_PARSE;
  } else if (a->kind == TSO_VX_SHAPE) {
    a->ntrig = 1, a->ntt[0] = 1, a->trig[0][0] = a->lhs;
  } else {
    a->ntrig = 1, a->ntt[0] = 1, a->trig[0][0] = a->lhs;
    if (!a->oriented && a->n[a->rhs].kind == TSO_VN_APP && vars_of(a, a->rhs) == want)
      a->ntrig = 2, a->ntt[1] = 1, a->trig[1][0] = a->rhs;
  }
  for (int g = 0; g < a->ntrig; g++) {
    unsigned m = 0;
    for (int t = 0; t < a->ntt[g]; t++) m |= vars_of(a, a->trig[g][t]);
    if (m != want) {
      ps.p = ps.s + strlen(ps.s);
      return perr(&ps, "trigger %d does not bind every variable", g), TSO_ERR_PARSE;
    }
  }
  return TSO_OK;
}

/* ---- templates and the whole table ------------------------------------ */

/* The operators of template class cls ("unary", ...), in id order. */
static int class_ops(const char *cls, size_t len, int *ops) {
  int n = 0;
  for (int op = 1; op < TSO_OP__END; op++) {
    const tsoO_Info *oi = tsoO_info(op);
    if (!oi || !(oi->flags & TSO_OPF_GEN)) continue;
    unsigned f = oi->flags;
    int in = 0;
    if (len == 5 && !strncmp(cls, "unary", 5))
      in = (f & TSO_OPF_UNARY) && (f & TSO_OPF_ELEMWISE);
    else if (len == 5 && !strncmp(cls, "ewbin", 5))
      in = (f & TSO_OPF_ELEMWISE) && (f & TSO_OPF_BROADCAST) && oi->min_in == 2 && oi->max_in == 2;
    else if (len == 4 && !strncmp(cls, "comm", 4))
      in = (f & TSO_OPF_COMMUTATIVE) != 0;
    else if (len == 5 && !strncmp(cls, "const", 5))
      in = (f & TSO_OPF_CONST) != 0;
    else
      return -1;
    if (in) ops[n++] = op;
  }
  return n;
}

/* Copies src into dst (cap bytes) replacing '@cls' by opname and $k/$K/$j/$J. */
static int expand(const char *src, const char *opname, int k, int j, char *dst, size_t cap) {
  size_t n = 0;
  for (const char *p = src; *p;) {
    char buf[32];
    const char *rep = NULL;
    size_t skip = 1;
    if (*p == '@') {
      skip = 1;
      while (isid((unsigned char)p[skip], 0)) skip++;
      rep = opname;
    } else if (*p == '$' && (p[1] == 'k' || p[1] == 'K' || p[1] == 'j' || p[1] == 'J')) {
      int v = p[1] == 'k' ? k : p[1] == 'K' ? 1 - k : p[1] == 'j' ? j : 1 - j;
      snprintf(buf, sizeof buf, "%d", v);
      rep = buf;
      skip = 2;
    }
    if (rep) {
      size_t l = strlen(rep);
      if (n + l >= cap) return -1;
      memcpy(dst + n, rep, l);
      n += l;
      p += skip;
    } else {
      if (n + 1 >= cap) return -1;
      dst[n++] = *p++;
    }
  }
  dst[n] = 0;
  return 0;
}

tso_status tsoV_axioms_add(tsoV_Axioms *ax, const tsoV_Axiom *a) {
  if (ax->n == ax->cap) {
    int cap = ax->cap ? ax->cap * 2 : 64;
    tsoV_Axiom *na = realloc(ax->a, (size_t)cap * sizeof *na);
    if (!na) return TSO_ERR_NOMEM;
    ax->a = na;
    ax->cap = cap;
  }
  ax->a[ax->n++] = *a;
  return TSO_OK;
}

void tsoV_axioms_free(tsoV_Axioms *ax) {
  if (!ax) return;
  free(ax->a);
  memset(ax, 0, sizeof *ax);
}

static uint64_t fnv(uint64_t h, const char *s) {
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001B3ull;
  return (h ^ 0xff) * 0x100000001B3ull;
}

tso_status tsoV_axioms_load(tsoV_Axioms *ax, char *err) {
  tso_status st;
  tsoV_Axiom *a = malloc(sizeof *a);
  if (!a) return tsoO_fail(err, TSO_ERR_NOMEM, "out of memory");
  memset(ax, 0, sizeof *ax);
  ax->hash = 0xcbf29ce484222325ull;
  for (int d = 0; d < NDEFS; d++) {
    const Def *df = &defs[d];
    int ops[TSO_OP__END], nops = 1;
    const char *at = strchr(df->text, '@');
    ops[0] = 0;
    if (at) {
      size_t len = 0;
      while (isid((unsigned char)at[1 + len], 0)) len++;
      if ((nops = class_ops(at + 1, len, ops)) < 0) {
        st = tsoO_fail(err, TSO_ERR_PARSE, "axiom %s: unknown operator class", df->name);
        goto fail;
      }
    }
    int nk = strstr(df->text, "$k") || strstr(df->text, "$K") ? 2 : 1;
    int nj = strstr(df->text, "$j") || strstr(df->text, "$J") ? 2 : 1;
    for (int o = 0; o < nops; o++)
      for (int k = 0; k < nk; k++)
        for (int j = 0; j < nj; j++) {
          char text[TSO_V_TEXT], trig[TSO_V_TEXT], name[48];
          const char *opname = ops[o] ? tsoO_info(ops[o])->name : "";
          if (expand(df->text, opname, k, j, text, sizeof text) ||
              expand(df->trig ? df->trig : "", opname, k, j, trig, sizeof trig)) {
            st = tsoO_fail(err, TSO_ERR_LIMIT, "axiom %s: text too long", df->name);
            goto fail;
          }
          int len = snprintf(name, sizeof name, "%s", df->name);
          if (ops[o]) len += snprintf(name + len, sizeof name - (size_t)len, "[%s]", opname);
          if (nk > 1 && nj > 1) snprintf(name + len, sizeof name - (size_t)len, ".%d.%d", k, j);
          else if (nk > 1) snprintf(name + len, sizeof name - (size_t)len, ".%d", k);
          else if (nj > 1) snprintf(name + len, sizeof name - (size_t)len, ".%d", j);
          if ((st = tsoV_axiom_parse(name, df->group, df->math, df->side, text, trig, a, err))) goto fail;
          a->def = (uint16_t)d;
          if ((st = tsoV_axioms_add(ax, a))) {
            tsoO_fail(err, st, "out of memory");
            goto fail;
          }
          ax->hash = fnv(fnv(ax->hash, a->name), a->text);
        }
  }
  free(a);
  return TSO_OK;
fail:
  free(a);
  tsoV_axioms_free(ax);
  return st;
}

/* ---- docs/axioms.md --------------------------------------------------- */

/* Writes s with '|' escaped for a markdown table cell. */
static void cell(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '|') fputs("\\|", f);
    else fputc(*s, f);
  }
}

tso_status tsoV_axioms_markdown(const tsoV_Axioms *ax, FILE *f) {
  fputs("<!-- Generated by `taso-verify --axioms-md` from verify/axioms.c; do not edit. -->\n"
        "# Operator axioms\n\n"
        "These are the axioms `taso-verify` proves rules with. They are data in\n"
        "`verify/axioms.c`: each is a small term pattern over universally quantified\n"
        "variables, parsed once, and the same parsed form is (1) asserted to Z3 as a\n"
        "quantified formula, (2) validated exactly against the operator kernels\n"
        "(`taso-verify --validate-axioms`) and (3) printed here. A rule is proven when\n"
        "the axioms and `source ≠ target` are unsatisfiable for every output; a\n"
        "time-out, a memory-out (Z3's memory is capped, `--z3-memory-mb`, default\n"
        "2048) or an unknown is never a proof. A Z3 model where the axioms hold and\n"
        "the sides differ shows that the rule is not implied, not that it is false:\n"
        "such a rule is unknown; refuted means a concrete counterexample.\n\n"
        "## The encoding\n\n"
        "* Tensors are one uninterpreted sort `T`. Each operator output is an\n"
        "  uninterpreted function of the operator's integer parameters and tensor\n"
        "  inputs; a multi-output operator (split) has one function per output slot;\n"
        "  graph inputs are fresh constants. The functions come from `ops/ops.def`\n"
        "  (arity, variadic inputs and outputs); `verify/params.c` says which\n"
        "  parameter words are integer arguments (conv2d: strides, padding mode,\n"
        "  fused activation; pools: window, strides, padding mode, count_include_pad;\n"
        "  concat and split: axis, parts; enlarge: target size; constants: rank and\n"
        "  dims). Every other parameter word is printed into the function's name, so\n"
        "  two operators share a function exactly when their parameters are equal.\n"
        "  Parameters are put in a canonical form first: conv2d's kernel_shape is\n"
        "  dropped (it only repeats the kernel's dims), transpose's default perm is\n"
        "  written out, negative axes are made positive.\n"
        "* Shapes: `shape : T → Shape`, where `Shape` is a tuple of the rank and\n"
        "  eight dims (dims beyond the rank are 0), so that two tensors have the same\n"
        "  shape exactly when rank and dims agree. `dim(a, t)` and `rank(t)` read\n"
        "  it. The *Shapes* axioms below give the shape of an operator's output; a\n"
        "  rule's inputs get fresh positive dims, shared by the inputs of one shape\n"
        "  class (equal kind byte and rank; rules.h).\n"
        "* Triggers: an axiom written `l = r` is instantiated when a term matching `l`\n"
        "  or `r` appears, one written `l -> r` only when `l` appears (the equation\n"
        "  asserted is the same). A shape axiom is instantiated when the shape of a\n"
        "  matching term is asked for, which guards do.\n\n"
        "## Side conditions, and where the axioms hold\n\n"
        "An axiom claims its equation wherever its guard holds and its left side is\n"
        "well-formed (the operators' shape inference accepts it); for an `=` axiom also\n"
        "wherever the right side is. The validation checks exactly that, and in\n"
        "particular that the other side is then well-formed too.\n\n"
        "**Split after concat.** `split` with equal parts cuts a tensor into halves\n"
        "(the first one larger by one for an odd size). `split₀([x | y]ₐ) = x` holds\n"
        "only when x and y are equally long along a; the axiom carries the guard\n"
        "`dim(a, x) = dim(a, y)`, which Z3 discharges from the *Shapes* axioms and\n"
        "the input facts. In a rule that guard comes from the shape classes: inputs\n"
        "of one class have the same shape wherever a rule is applied, so\n"
        "`split(concat(x0, x1))` with x0 and x1 of one class proves, while the same\n"
        "rule over inputs of two classes does not (and is reported, not shipped).\n\n"
        "**Broadcasting.** The element-wise operators broadcast (numpy rules). An\n"
        "axiom that moves an element-wise operator across a layout or linear operator\n"
        "is false for some broadcast operands, so it carries a guard saying which\n"
        "broadcasting it allows: `same(x, y)` (equal shapes), `alike(x, y, a)` (equal\n"
        "but along axis a), or equal dims along the axes that matter. The *Shapes*\n"
        "axiom of `ewadd`/`ewmul` is the broadcast of the operands' shapes.\n\n"
        "**What a rule's patterns say about shapes.** A rule is only applied where\n"
        "both of its patterns are well-formed, so the encoding of a rule also asserts\n"
        "what that implies: conv's kernel_shape and channels, matmul's inner dims,\n"
        "concat's other dims, the broadcasting of element-wise operands (each axis\n"
        "equal, or one of them 1), non-empty split parts. Its inputs get fresh\n"
        "positive dims, one set per shape class (kind byte and rank).\n\n"
        "**Finer shape classes.** The generator gives all its inputs of one role\n"
        "(matrix, act4, kernel, scalar) one shape, so a candidate's classes are its\n"
        "roles, which is far more than most proofs need: `x0 @ x1, x0 @ x2 =\n"
        "split(x0 @ [x1 | x2])` needs x1 and x2 of one shape (the split is in\n"
        "halves), not x0 too. So `taso-verify` proves each candidate that passes\n"
        "the float check under finer classes too, and writes the finest it proves\n"
        "into the rule (as subclasses of the kind byte, `docs/rules-format.md`).\n"
        "First every input its own class: proven so, the rule needs no second\n"
        "proof with its own classes (a special case of the same formulas). Else,\n"
        "once proven with its own classes, input by input: one member split off\n"
        "its class, kept when still proven. Proven means what it means for the rule\n"
        "itself: Z3 proves every output with one set of dims per finer class and\n"
        "the well-formedness facts of both patterns, and the float check passes on\n"
        "shapes that the finer classes allow and the coarser ones do not (none\n"
        "found: not refined). Classes of rank 0 are never split (their shapes are\n"
        "all equal); a refinement not proven leaves the classes as they were; the\n"
        "attempts of one rule share the rule's time-out; the result does not depend\n"
        "on the number of threads. `taso-verify --check` proves rules with the\n"
        "classes they store and refines nothing. A candidate with no shapes at all\n"
        "under its own classes (a 1x1 and a 3x3 kernel share the class `kernel`) is\n"
        "proven with every input in a class of its own, and ships so when proven.\n\n"
        "**Rules without inputs** state numeric facts about constants (ones + ones +\n"
        "ones + ones = ones @ ones for 4x4 ones); the axioms are about operators, not\n"
        "values, so Z3 cannot derive them, but both sides are fixed tensors and exact\n"
        "evaluation decides them (`verify/closed.c`): the field arithmetic of the\n"
        "validation below, with a bound B on every value's magnitude and an integer d\n"
        "that makes it integral, so that two values whose (B0 + B1)·d0·d1 is below p\n"
        "are equal exactly when their images in the field are. Rules with relu,\n"
        "sigmoid, tanh or max pooling (polynomial stand-ins in the field) are not\n"
        "decided so; Z3 is tried, and failing that they are reported (reason\n"
        "`constant`) and not shipped. The optimizer never applies a rule without\n"
        "inputs (imported graphs do not contain the generator's constants).\n\n"
        "**Ill-formed terms.** Z3 may build terms that no shape makes well-formed;\n"
        "the axioms say nothing useful about them, and nothing here proves that\n"
        "reasoning through them is sound. That is one reason every shipped rule is\n"
        "also checked independently in float on random well-formed shapes\n"
        "(`tsoV_float_check`), and not shipped if it fails.\n\n"
        "## Validation\n\n"
        "`taso-verify --validate-axioms` checks every axiom exactly, in the prime\n"
        "field GF(2⁶¹ − 1) with relu, sigmoid, tanh and the max of max-pooling\n"
        "replaced by fixed non-linear polynomials (as the generator's fingerprints\n"
        "do; the kernels are `verify/modeval.c`'s, general in shapes and parameters,\n"
        "and `test_verify` checks them against the float reference kernels), on\n"
        "every combination of shapes of rank ≤ 4 with dims in {1, 2, 3} and\n"
        "every combination of parameters in small domains (axes 0–3, strides 1–2,\n"
        "all padding modes, kernel sizes 1–3, fused relu on and off) that the\n"
        "operators accept (empty tensors excluded), plus random larger shapes, and\n"
        "also in float with the reference kernels on a sample. Where the left side is\n"
        "well-formed the right side must be too (for `=` axioms also the other way\n"
        "round); a shape axiom must give the shape the operators' own shape inference\n"
        "gives. A failure anywhere is an error, and\n"
        "`bench/make_rules.sh` stops before writing a rule file. It also asks Z3\n"
        "which axioms follow from the others (`--redundancy`: redundant ones are\n"
        "kept, since they shorten proofs, and only reported) and writes both results\n"
        "to `data/axioms.report.txt`.\n\n"
        "## Notation\n\n"
        "`+` ewadd, `⊙` ewmul, `∘` either, `x·s` smul (s a scalar tensor), `@` matmul,\n"
        "`⊛` conv2d (`⊛ᵣ` with the fused relu), `ᵀ` transpose of a matrix,\n"
        "`[x | y]ₐ` concat along axis a, `splitₖ(x)ₐ` output k of the split of x in two\n"
        "along a, `f` an element-wise unary operator (relu, sigmoid, tanh), I, 1 and P\n"
        "the identity, all-ones and average-pool constants. Lower-case letters in\n"
        "patterns are variables: tensors where they are operator arguments, integers\n"
        "where they are parameters.\n",
        f);
  const char *group = NULL;
  int count = 0;
  for (int i = 0; i < ax->n; i++) {
    const tsoV_Axiom *a = &ax->a[i];
    if (i > 0 && a->def == ax->a[i - 1].def) continue;
    if (!group || strcmp(group, a->group)) {
      group = a->group;
      fprintf(f, "\n## %s\n\n| axiom | mathematics | side condition | pattern |\n|---|---|---|---|\n", group);
    }
    /* the template form and the instances */
    int n = 0;
    while (i + n < ax->n && ax->a[i + n].def == a->def) n++;
    count++;
    const char *br = strchr(a->name, '[');
    const char *dot = strchr(a->name, '.');
    size_t base = br ? (size_t)(br - a->name) : dot ? (size_t)(dot - a->name) : strlen(a->name);
    fprintf(f, "| `%.*s`", (int)base, a->name);
    if (n > 1) fprintf(f, " (%d instances)", n);
    fputs(" | ", f);
    cell(f, a->math);
    fputs(" | ", f);
    cell(f, a->side ? a->side : "");
    fputs(" | `", f);
    cell(f, a->def < NDEFS ? defs[a->def].text : a->text);
    fputs("` |\n", f);
  }
  fprintf(f, "\n%d axioms, %d after expanding operator classes and output slots.\n", count, ax->n);
  return ferror(f) ? TSO_ERR_IO : TSO_OK;
}
