/*
 * options.h - the options an algorithm accepts, as data.
 *
 * Each algorithm publishes a table of its options; the host validates any
 * user-supplied options against it (names, types, ranges) and hands the
 * algorithm an array of values in table order, so no algorithm parses options.
 */
#ifndef RECSYS_OPTIONS_H
#define RECSYS_OPTIONS_H

#include <stdbool.h>

typedef enum rs_option_type
{
	RS_OPT_INT,
	RS_OPT_REAL,
	RS_OPT_BOOL,
	RS_OPT_CHOICE				/* one of `choices`; its value is the position */
} rs_option_type;

typedef struct rs_option_spec
{
	const char *name;
	rs_option_type type;
	double		default_value;
	double		min;
	double		max;
	bool		min_exclusive;	/* value must be > min rather than >= */
	const char *const *choices; /* NULL-terminated, for RS_OPT_CHOICE */
	/* 0, or the option applies only where option only_with - 1 is only_with_value */
	int			only_with;
	int			only_with_value;
} rs_option_spec;

#endif
