/* store-timer: what one job costs in the job store, embedded against Redis,
 * measured round-robin (one job on every store, then the next) so that a
 * change in machine load affects both alike.
 *
 *   store-timer [-n JOBS] embedded|redis://HOST:PORT/DB ...
 *
 * One job is the whole life a host gives it: submit, claim, renew, finish,
 * get.  Prints per store: the median and p99 of each call and of the whole
 * job (microseconds), and the ratio of each median to the first store's. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/store.h"
#include "common/util.h"

enum { SUBMIT, CLAIM, RENEW, FINISH, GET, WHOLE, NCALLS };
static const char *const call_names[NCALLS] = {"submit", "claim", "renew", "finish", "get", "job"};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t pct(uint64_t *v, unsigned n, unsigned p)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[(size_t)n * p / 100 < n ? (size_t)n * p / 100 : n - 1];
}

static int one_job(struct api_store *s, unsigned i, uint64_t *t, struct tj_error *err)
{
	char id[64], body[256];
	enum api_store_submit sub;
	struct api_store_claim c;
	struct api_store_job j;
	enum api_store_renew r;
	bool got, written, found;
	uint64_t t0 = tj_now_us(), t1;

	snprintf(id, sizeof(id), "bench-%d-%u", (int)getpid(), i);
	snprintf(body, sizeof(body), "{\"job_id\":\"%s\",\"upload_id\":\"u-%u\",\"variables\":{\"n\":%u}}",
	         id, i, i);
	if (api_store_submit(s, id, body, &sub, err) < 0)
		return -1;
	t1 = tj_now_us();
	t[SUBMIT] = t1 - t0;
	if (api_store_claim(s, &c, &got, err) < 0)
		return -1;
	if (!got)
		return tj_error_set(err, 0, "nothing to claim");
	t[CLAIM] = tj_now_us() - t1;
	t1 = tj_now_us();
	if (api_store_renew(s, &c, &r, err) < 0)
		return -1;
	t[RENEW] = tj_now_us() - t1;
	t1 = tj_now_us();
	if (api_store_finish(s, &c, API_STORE_DONE, "{\"status\":\"SUCCESS\",\"steps\":[]}", &written, err) <
	    0)
		return -1;
	t[FINISH] = tj_now_us() - t1;
	api_store_claim_free(&c);
	t1 = tj_now_us();
	if (api_store_get(s, id, &j, &found, err) < 0)
		return -1;
	t[GET] = tj_now_us() - t1;
	api_store_job_free(&j);
	t[WHOLE] = tj_now_us() - t0;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned n = 2000, nstores;
	struct api_store **stores;
	uint64_t *samples, base[NCALLS] = {0};
	struct tj_error err = {0};
	int opt;

	while ((opt = getopt(argc, argv, "n:")) != -1)
		if (opt == 'n')
			n = (unsigned)atoi(optarg);
	if (optind >= argc || n == 0) {
		fprintf(stderr, "usage: store-timer [-n JOBS] embedded|redis://HOST:PORT/DB ...\n");
		return 2;
	}
	nstores = (unsigned)(argc - optind);
	stores = calloc(nstores, sizeof(*stores));
	samples = calloc((size_t)nstores * NCALLS * n, sizeof(*samples));
	for (unsigned k = 0; k < nstores; k++) {
		struct api_store_options o;
		char prefix[64];
		api_store_options_defaults(&o, &err);
		free(o.url);
		o.url = strdup(argv[optind + k]);
		snprintf(prefix, sizeof(prefix), "bench-%d", (int)getpid());
		free(o.prefix);
		o.prefix = strdup(prefix);
		o.result_ttl_s = 60;
		if (api_store_open(&o, &stores[k], &err) < 0) {
			fprintf(stderr, "store-timer: %s\n", err.msg);
			return 1;
		}
		api_store_options_free(&o);
	}
	for (unsigned i = 0; i < n; i++)
		for (unsigned k = 0; k < nstores; k++) {
			uint64_t t[NCALLS];
			if (one_job(stores[k], i, t, &err) < 0) {
				fprintf(stderr, "store-timer: %s: %s\n", argv[optind + k], err.msg);
				return 1;
			}
			for (unsigned c = 0; c < NCALLS; c++)
				samples[((size_t)k * NCALLS + c) * n + i] = t[c];
		}
	printf("%u jobs per store, microseconds (p50 / p99); ratio = p50 against the first store\n", n);
	for (unsigned k = 0; k < nstores; k++) {
		char desc[128];
		api_store_describe(stores[k], desc, sizeof(desc));
		printf("  store %u: %s\n", k + 1, desc);
	}
	printf("%-8s", "call");
	for (unsigned k = 0; k < nstores; k++)
		printf("  %7s%u-p50 %7s%u-p99%s", "store", k + 1, "store", k + 1, k ? "  ratio" : "");
	printf("\n");
	for (unsigned c = 0; c < NCALLS; c++) {
		printf("%-8s", call_names[c]);
		for (unsigned k = 0; k < nstores; k++) {
			uint64_t *v = &samples[((size_t)k * NCALLS + c) * n];
			uint64_t p50 = pct(v, n, 50), p99 = pct(v, n, 99);
			if (k == 0)
				base[c] = p50 ? p50 : 1;
			printf("  %12" PRIu64 " %12" PRIu64, p50, p99);
			if (k)
				printf("  %5.1fx", (double)p50 / (double)base[c]);
		}
		printf("\n");
	}
	for (unsigned k = 0; k < nstores; k++)
		api_store_close(stores[k]);
	free(samples);
	free(stores);
	return 0;
}
