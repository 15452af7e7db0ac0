/*
 * vector_isa.h - which instruction set the engine's own vector kernels run.
 *
 * A kernel is written once, as an always-inline body, and RS_KERNEL compiles
 * it for x86-64-v4 (AVX-512), x86-64-v3 (AVX2, FMA) and the x86-64 baseline.
 * The best the CPU has is chosen once per process, so every thread runs the
 * same code and results do not depend on the thread count.  The paths round
 * differently (FMA contracts a multiply and an add), so results are
 * reproducible on one machine, not bit for bit across CPUs.
 *
 * RECSYS_PORTABLE_KERNELS=1 in the environment, read once, forces the
 * baseline path: tests use it to check the results any x86-64 CPU gives.
 */
#ifndef RECSYS_VECTOR_ISA_H
#define RECSYS_VECTOR_ISA_H

typedef enum rs_vector_isa
{
	RS_ISA_BASELINE = 0,
	RS_ISA_X86_64_V3,
	RS_ISA_X86_64_V4
} rs_vector_isa;

/* The kernels' instruction set, decided on the first call. */
rs_vector_isa rs_vector_isa_chosen(void);

/* "x86-64-v4", "x86-64-v3" or "baseline". */
const char *rs_vector_isa_name(rs_vector_isa isa);

/*
 * RS_KERNEL(ret, name, (params), (args)) defines `static ret name(params)`
 * from `name_body`, which must be static inline and always_inline.  Only GCC
 * on x86-64 gets the variants; clang and other targets the baseline alone.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define RS_KERNEL(ret, name, params, args) \
	__attribute__((target("arch=x86-64-v4"))) static ret \
	name##_v4 params \
	{ \
		return name##_body args; \
	} \
	__attribute__((target("arch=x86-64-v3"))) static ret \
	name##_v3 params \
	{ \
		return name##_body args; \
	} \
	static ret \
	name params \
	{ \
		switch (rs_vector_isa_chosen()) \
		{ \
			case RS_ISA_X86_64_V4: \
				return name##_v4 args; \
			case RS_ISA_X86_64_V3: \
				return name##_v3 args; \
			default: \
				return name##_body args; \
		} \
	}
#else
#define RS_KERNEL(ret, name, params, args) \
	static ret \
	name params \
	{ \
		return name##_body args; \
	}
#endif

/* what a kernel body is declared with */
#define RS_KERNEL_BODY static inline __attribute__((always_inline))

#endif
