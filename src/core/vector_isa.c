/*
 * vector_isa.c - picks the instruction set of the engine's vector kernels.
 */
#include "vector_isa.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define NOT_YET (-1)

static atomic_int chosen = NOT_YET;

static bool
portable_forced(void)
{
	const char *value = getenv("RECSYS_PORTABLE_KERNELS");

	return value && *value && strcmp(value, "0") != 0;
}

static rs_vector_isa
detect(void)
{
	if (portable_forced())
		return RS_ISA_BASELINE;
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("x86-64-v4"))
		return RS_ISA_X86_64_V4;
	if (__builtin_cpu_supports("x86-64-v3"))
		return RS_ISA_X86_64_V3;
#endif
	return RS_ISA_BASELINE;
}

/* Threads that race here compute the same answer: no lock is needed. */
rs_vector_isa
rs_vector_isa_chosen(void)
{
	int			isa = atomic_load_explicit(&chosen, memory_order_relaxed);

	if (isa == NOT_YET)
	{
		isa = (int) detect();
		atomic_store_explicit(&chosen, isa, memory_order_relaxed);
	}
	return (rs_vector_isa) isa;
}

const char *
rs_vector_isa_name(rs_vector_isa isa)
{
	switch (isa)
	{
		case RS_ISA_X86_64_V4:
			return "x86-64-v4";
		case RS_ISA_X86_64_V3:
			return "x86-64-v3";
		default:
			return "baseline";
	}
}
