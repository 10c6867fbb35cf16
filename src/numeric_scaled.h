/*-------------------------------------------------------------------------
 *
 * numeric_scaled.h
 *	  Numerics read as scaled integers, for the one-pass build's sums and
 *	  comparisons of numeric values without numeric arithmetic.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SESSIONIZE_NUMERIC_SCALED_H
#define SESSIONIZE_NUMERIC_SCALED_H

#include "postgres.h"

/* The largest display scale a scaled value has (10^18 fits in int64). */
#define NUMERIC_SCALED_MAX_SCALE 18

extern bool numeric_scaled_read(Datum value, int64 *scaled, int *scale);

#ifdef HAVE_INT128
extern int	numeric_scaled_cmp(int64 a, int ascale, int64 b, int bscale);
extern bool numeric_scaled_add(int128 *sum, int *sumscale, int64 value, int scale);
extern Datum numeric_scaled_result(int128 sum, int scale);
#endif

#endif							/* SESSIONIZE_NUMERIC_SCALED_H */
