/*-------------------------------------------------------------------------
 *
 * numeric_scaled.c
 *	  Numerics read as scaled integers, for the one-pass build's sums and
 *	  comparisons of numeric values without numeric arithmetic.
 *
 * sum(numeric) and max(numeric) in the one-pass build (measures_build.c)
 * would otherwise call numeric_add() or numeric_gt() on every event, and
 * each call copies its short-header arguments into new memory and builds
 * its result in more.  The numerics that events carry (prices, amounts)
 * are nearly all small, with a few decimals: such a value is an int64 v at
 * a display scale s (the value is v / 10^s), and these add and compare as
 * integers.  A sum of them is exact in an int128 at the largest scale
 * seen, which is the display scale sum(numeric) gives its result.  What
 * does not fit (NaN, infinities, more than 18 decimals, more than int64
 * holds, a sum beyond 10^37) is left to numeric's own functions by the
 * callers, which then give exactly what they always did.
 *
 * The layout read here is numeric's on-disk format (numeric.c), the same
 * in every release this extension builds for, since pg_upgrade keeps
 * numeric columns as they are: in its short form, which holds every value
 * read here, a uint16 header with the sign, display scale and weight, then
 * base-10000 digits, the most significant first.
 *
 * Callable from C only.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/int.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/numeric.h"

#include "compat.h"
#include "numeric_scaled.h"

/* numeric's on-disk format (numeric.c) */
#define NS_DEC_DIGITS				4
#define NS_NBASE					10000
#define NS_SIGN_MASK				0xC000
#define NS_SHORT					0x8000
#define NS_SHORT_SIGN_MASK			0x2000
#define NS_SHORT_DSCALE_MASK		0x1F80
#define NS_SHORT_DSCALE_SHIFT		7
#define NS_SHORT_WEIGHT_SIGN_MASK	0x0040
#define NS_SHORT_WEIGHT_MASK		0x003F

/* A sum goes on as an integer while no larger than this (int128 holds 1.7e38). */
#define NS_SUM_LIMIT ((int128) PG_INT64_MAX * (int128) PG_INT64_MAX / 8)

static const uint64 ns_pow10[] = {
	UINT64CONST(1), UINT64CONST(10), UINT64CONST(100), UINT64CONST(1000),
	UINT64CONST(10000), UINT64CONST(100000), UINT64CONST(1000000),
	UINT64CONST(10000000), UINT64CONST(100000000), UINT64CONST(1000000000),
	UINT64CONST(10000000000), UINT64CONST(100000000000),
	UINT64CONST(1000000000000), UINT64CONST(10000000000000),
	UINT64CONST(100000000000000), UINT64CONST(1000000000000000),
	UINT64CONST(10000000000000000), UINT64CONST(100000000000000000),
	UINT64CONST(1000000000000000000), UINT64CONST(10000000000000000000)
};

/*
 * A numeric value (not detoasted, any header) as *scaled / 10^*scale, with
 * *scale its display scale.  False for a value that is not a number (NaN,
 * infinities), has more than NUMERIC_SCALED_MAX_SCALE decimals, or whose
 * scaled value int64 does not hold; also for one compressed or stored out
 * of line, which events' small numerics never are.
 */
bool
numeric_scaled_read(Datum value, int64 *scaled, int *scale)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(value);
	const char *p;
	Size		len;
	uint16		header;
	bool		neg;
	int			weight;
	int			dscale;
	int			ndigits;
	int			exp;
	uint64		acc = 0;

	/* (a TOAST pointer is "short" too: VARATT_IS_SHORT() does not tell it) */
	if (VARATT_IS_EXTERNAL(v) || VARATT_IS_COMPRESSED(v))
		return false;
	p = VARDATA_ANY(v);
	len = VARSIZE_ANY_EXHDR(v);
	if (len < sizeof(uint16))
		return false;
	memcpy(&header, p, sizeof(uint16));

	/*
	 * Only the short form: numeric writes the long one only for a display
	 * scale or weight beyond the short one's, none of them read here.
	 */
	if ((header & NS_SIGN_MASK) != NS_SHORT)
		return false;
	neg = (header & NS_SHORT_SIGN_MASK) != 0;
	dscale = (header & NS_SHORT_DSCALE_MASK) >> NS_SHORT_DSCALE_SHIFT;
	weight = ((header & NS_SHORT_WEIGHT_SIGN_MASK) ? ~NS_SHORT_WEIGHT_MASK : 0) |
		(header & NS_SHORT_WEIGHT_MASK);
	p += sizeof(uint16);
	len -= sizeof(uint16);
	if (dscale > NUMERIC_SCALED_MAX_SCALE || len % sizeof(int16) != 0)
		return false;
	ndigits = len / sizeof(int16);
	for (int i = 0; i < ndigits; i++)
	{
		int16		digit;

		memcpy(&digit, p + i * sizeof(int16), sizeof(int16));
		if (digit < 0 || digit >= NS_NBASE ||
			pg_mul_u64_overflow(acc, NS_NBASE, &acc) ||
			pg_add_u64_overflow(acc, (uint64) digit, &acc))
			return false;
	}

	/*
	 * acc is the value times NBASE^(ndigits - 1 - weight); the scaled value
	 * is the value times 10^dscale.
	 */
	exp = ndigits == 0 ? 0 : dscale - NS_DEC_DIGITS * (ndigits - 1 - weight);
	if (exp > 0)
	{
		if (exp >= (int) lengthof(ns_pow10) || pg_mul_u64_overflow(acc, ns_pow10[exp], &acc))
			return false;
	}
	else if (exp < 0)
	{
		/* (the digits beyond the display scale are zeros) */
		if (-exp >= (int) lengthof(ns_pow10) || acc % ns_pow10[-exp] != 0)
			return false;
		acc /= ns_pow10[-exp];
	}
	if (acc > (uint64) PG_INT64_MAX)
		return false;
	*scaled = neg ? -(int64) acc : (int64) acc;
	*scale = dscale;
	return true;
}

#ifdef HAVE_INT128

/* -1, 0 or 1 as a / 10^ascale is less than, equal to or greater than b / 10^bscale. */
int
numeric_scaled_cmp(int64 a, int ascale, int64 b, int bscale)
{
	int128		x = a;
	int128		y = b;

	Assert(ascale >= 0 && ascale <= NUMERIC_SCALED_MAX_SCALE);
	Assert(bscale >= 0 && bscale <= NUMERIC_SCALED_MAX_SCALE);
	if (ascale < bscale)
		x *= (int128) ns_pow10[bscale - ascale];
	else if (bscale < ascale)
		y *= (int128) ns_pow10[ascale - bscale];
	return (x > y) - (x < y);
}

/*
 * Add value / 10^scale to *sum / 10^*sumscale, at the larger scale.  False,
 * with *sum and *sumscale as they were, when the sum would leave the range
 * in which it is kept as an integer.
 */
bool
numeric_scaled_add(int128 *sum, int *sumscale, int64 value, int scale)
{
	int128		s = *sum;
	int128		v = value;

	Assert(scale >= 0 && scale <= NUMERIC_SCALED_MAX_SCALE);
	if (s > NS_SUM_LIMIT || s < -NS_SUM_LIMIT)
		return false;
	if (scale > *sumscale)
	{
		int128		f = (int128) ns_pow10[scale - *sumscale];

		if (s > NS_SUM_LIMIT / f || s < -NS_SUM_LIMIT / f)
			return false;
		s *= f;
		*sumscale = scale;
	}
	else if (scale < *sumscale)
		v *= (int128) ns_pow10[*sumscale - scale];
	/* (|s| <= NS_SUM_LIMIT and |v| < 2^63 * 10^18: no overflow) */
	*sum = s + v;
	return true;
}

/* sum / 10^scale as a numeric of display scale scale, in the current memory context. */
Datum
numeric_scaled_result(int128 sum, int scale)
{
	char		buf[64];
	int			pos = sizeof(buf);
	int			digits = 0;
	uint128		u = sum < 0 ? -(uint128) sum : (uint128) sum;

	Assert(scale >= 0 && scale <= NUMERIC_SCALED_MAX_SCALE);
	if (sum >= PG_INT64_MIN && sum <= PG_INT64_MAX)
		return NumericGetDatum(int64_div_fast_to_numeric((int64) sum, scale));

	/* digits, a point before the last scale of them, at least one before it */
	buf[--pos] = '\0';
	for (;;)
	{
		buf[--pos] = '0' + (int) (u % 10);
		u /= 10;
		if (++digits == scale)
			buf[--pos] = '.';
		if (u == 0 && digits > scale)
			break;
	}
	if (sum < 0)
		buf[--pos] = '-';
	return DirectFunctionCall3(numeric_in, CStringGetDatum(buf + pos),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

#endif							/* HAVE_INT128 */
