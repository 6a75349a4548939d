/*
** text.h -- small text helpers shared by the library and the tools
** (internal, prefix tsoU_): escaping for one-line messages, and the
** parser of DIMS lists ("1x3x224x224") of shape bindings. The code is in
** util/text.c, part of libtaso; the tools (which link the static
** library) call the same functions.
**
** Escaping. Names in a model are whatever bytes its author wrote; a
** message that quotes one must stay one line and must not hand raw
** control codes to a terminal. Newline, carriage return and tab become
** \n \r \t; other C0 controls and DEL \xHH; every byte of an invalid
** UTF-8 sequence (stray continuation, overlong form, surrogate, above
** U+10FFFF, truncated) \xHH; the C1 controls U+0080..U+009F and the line
** and paragraph separators U+2028, U+2029 \uHHHH. Everything else,
** backslash included, is copied as is.
*/
#ifndef TSO_TEXT_H
#define TSO_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Length of the valid UTF-8 sequence at s (2..4) and its code point in
** *cp, or 0 when the bytes there are not one. */
int tsoU_utf8_seq(const unsigned char *s, unsigned long *cp);

/* Writes src escaped (see above) into dst, n > 0 bytes, always
** NUL-terminated; when it does not fit, it is cut before the first
** character or escape that does not fit whole. Returns strlen(dst). */
size_t tsoU_escape(char *dst, size_t n, const char *src);

/* Parses a DIMS list, "1x3x224x224" or "8" ('X' and ',' also separate),
** into d[0..*rank): 1..maxrank dimensions, each a run of decimal digits
** worth 1..maxdim, and nothing else (no sign or space, no empty
** dimension, no leading or trailing separator). Returns 0, or -1 with why
** (nwhy bytes; may be NULL) saying what is wrong, e.g. "dimension 2 is
** empty" (dimensions are counted from 0). */
int tsoU_parse_dims(const char *v, int64_t *d, int *rank, int maxrank, int64_t maxdim, char *why, size_t nwhy);

#endif /* TSO_TEXT_H */
