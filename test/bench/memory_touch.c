/*
 * memory_touch.c - the cost of the first write to fresh memory (a page
 * fault per page) against rewriting memory already mapped.
 *
 * recsys copies whole models: encoding one at the end of training, reading
 * one into a backend's cache.  Each copy lands in fresh memory, so its cost
 * is bounded below by the page faults, which vary a lot between machines
 * (virtual machines especially).  This puts a number on it for the host.
 *
 *   gcc -O2 test/bench/memory_touch.c
 *   ./a.out [MiB]
 *
 * Prints `key value` lines: best of 3 mappings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define TRIALS 3

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

/* Writes every byte; the barrier keeps the compiler from dropping the store. */
static void
fill(char *p, size_t size, int value)
{
	memset(p, value, size);
	__asm__ volatile("" : : "r"(p) : "memory");
}

int
main(int argc, char **argv)
{
	int			mib = argc > 1 ? atoi(argv[1]) : 64;
	size_t		size = (size_t) mib << 20;
	long		page = sysconf(_SC_PAGESIZE);
	double		first = 0.0,
				again = 0.0;

	if (mib < 1 || mib > 4096)
	{
		fprintf(stderr, "usage: %s [MiB]   (1 <= MiB <= 4096)\n", argv[0]);
		return 2;
	}
	for (int trial = 0; trial < TRIALS; trial++)
	{
		char	   *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
							 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		double		t0,
					t1,
					t2;

		if (p == MAP_FAILED)
		{
			perror("memory_touch: mmap");
			return 1;
		}
		t0 = now();
		fill(p, size, 1);
		t1 = now();
		fill(p, size, 2);
		t2 = now();
		munmap(p, size);
		if (trial == 0 || t1 - t0 < first)
			first = t1 - t0;
		if (trial == 0 || t2 - t1 < again)
			again = t2 - t1;
	}
	printf("touch.mib %d\n", mib);
	printf("touch.page_bytes %ld\n", page);
	printf("touch.first_ms %.2f\n", first * 1e3);
	printf("touch.again_ms %.2f\n", again * 1e3);
	printf("touch.first_us_per_page %.3f\n", first * 1e6 / (double) (size / page));
	printf("touch.again_us_per_page %.3f\n", again * 1e6 / (double) (size / page));
	return 0;
}
