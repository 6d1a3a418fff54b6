/* bench/planjson-timer FILE [RUNS]: the plan normaliser on terraform's show
 * -json text, against a baseline measured in the same run:
 *   baseline  cJSON parse + compact print + sha256 (what normalising through
 *             cJSON cost; it also loses digits and NULs)
 *   bytes     planjson_normalize (check, copy, sort, sha256)
 *   bytes+sum planjson_normalize + planjson_summary (what a job does)
 * Prints the median of each over RUNS runs and the ratios to the baseline. */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "executor/planjson.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static uint64_t median(uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	char *text = NULL, sha[65];
	size_t len;
	struct tj_error err;
	int runs = argc > 2 ? atoi(argv[2]) : 200;
	uint64_t *t[3];

	if (argc < 2 || runs < 1 || tj_read_file(argv[1], 256u << 20, &text, &len, &err) < 0) {
		fprintf(stderr, "usage: planjson-timer FILE [RUNS]\n");
		return 2;
	}
	for (int k = 0; k < 3; k++)
		t[k] = calloc((size_t)runs, sizeof(uint64_t));
	for (int i = 0; i < runs; i++) {
		uint64_t t0 = tj_now_us();
		cJSON *root = cJSON_ParseWithLength(text, len);
		char *out;
		size_t out_len;
		struct plan_summary sum;

		cJSON_DeleteItemFromObjectCaseSensitive(root, "timestamp");
		out = cJSON_PrintUnformatted(root);
		tj_sha256_hex(out, strlen(out), sha);
		free(out);
		cJSON_Delete(root);
		t[0][i] = tj_now_us() - t0;

		t0 = tj_now_us();
		if (planjson_normalize(text, len, &out, &out_len, sha, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		t[1][i] = tj_now_us() - t0;
		free(out);

		t0 = tj_now_us();
		planjson_normalize(text, len, &out, &out_len, sha, &err);
		planjson_summary(out, out_len, &sum, &err);
		t[2][i] = tj_now_us() - t0;
		free(out);
	}
	{
		uint64_t base = median(t[0], runs), bytes = median(t[1], runs), both = median(t[2], runs);
		printf("plan JSON: %zu bytes, %d runs, medians\n", len, runs);
		printf("  baseline (cJSON parse+print+sha256)  %8llu us  1.00\n", (unsigned long long)base);
		printf("  planjson_normalize                   %8llu us  %.2f\n", (unsigned long long)bytes,
		       (double)bytes / (double)base);
		printf("  planjson_normalize + summary         %8llu us  %.2f\n", (unsigned long long)both,
		       (double)both / (double)base);
	}
	return 0;
}
