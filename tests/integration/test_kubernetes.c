/* deploy/kubernetes/ against the rest of the repository.
 *
 * tests/kubernetes/check.py parses every manifest and checks that the image,
 * the port, the probe paths, the mounts, the policy and the resources agree
 * with the Dockerfile, mk/container.mk, container/tfjail.json,
 * config/tfjail.json, api/openapi.json and `tfjail policy check`.  The first
 * test runs it on the tree; the second proves that it catches each kind of
 * disagreement, on a copy of the files with one edit each.  Needs python3
 * with PyYAML (python3-yaml). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/testutil.h"

/* What check.py reads, copied for the mutation tests. */
static const char *const checked_files[] = {
    "Dockerfile",         "mk/container.mk",  "container/tfjail.json",
    "config/tfjail.json", "api/openapi.json", "deploy/kubernetes",
};

static int run_check(const char *srcdir, char **out)
{
	char *err = NULL;
	char *const argv[] = {"/usr/bin/python3", (char *)tj_test_src("tests/kubernetes/check.py"),
	                      (char *)srcdir, (char *)tj_test_bin(), NULL};
	int st = tj_test_spawn(argv, out, &err);

	ck_assert_msg(WIFEXITED(st), "check.py killed: %s", err);
	ck_assert_msg(!strstr(err, "Traceback"), "check.py crashed: %s", err);
	free(err);
	return WEXITSTATUS(st);
}

START_TEST(test_manifests_agree)
{
	char *out = NULL;
	char src[4096];

	snprintf(src, sizeof(src), "%s", tj_test_src(""));
	ck_assert_msg(run_check(src, &out) == 0, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "agree"));
	free(out);
}
END_TEST

/* One edit of one file, and the line check.py must print. */
static const struct mutation {
	const char *file, *from, *to, *expect;
} mutations[] = {
    {"deploy/kubernetes/deployment.yaml", "path: /health", "path: /healthz", "livenessProbe path /healthz"},
    {"deploy/kubernetes/deployment.yaml", "readinessProbe:\n            httpGet:\n              path: /ready",
     "readinessProbe:\n            httpGet:\n              path: /metrics", "readinessProbe path /metrics"},
    {"Dockerfile", "EXPOSE 8001", "EXPOSE 8002", "is not the EXPOSEd port 8002"},
    {"deploy/kubernetes/deployment.yaml", "containerPort: 8001", "containerPort: 8080",
     "containerPort http 8080"},
    {"deploy/kubernetes/deployment.yaml", "image: localhost/tfjail:latest", "image: tfjail:dev",
     "make container-image builds"},
    {"deploy/kubernetes/configmap.yaml", "\"max_concurrent_jobs\": 2", "\"max_concurrent_jobs\": 4",
     "requests.memory"},
    {"deploy/kubernetes/configmap.yaml", "\"name\": \"tfjail-default\"", "\"nmae\": \"tfjail-default\"",
     "tfjail policy check"},
    {"deploy/kubernetes/configmap.yaml", "\"listen\": \"0.0.0.0:8001\"", "\"listen\": \"127.0.0.1:8001\"",
     "must be 0.0.0.0"},
    {"deploy/kubernetes/deployment.yaml", "mountPath: /var/lib/tfjail/uploads\n              readOnly: true",
     "mountPath: /var/lib/tfjail/uploads", "uploads volume is not mounted read-only"},
    {"deploy/kubernetes/deployment.yaml", "path: /run/tfjail/slots", "path: /tmp/slots",
     "share sandbox uids"},
    {"deploy/kubernetes/service.yaml", "app.kubernetes.io/name: tfjail\n  ports",
     "app.kubernetes.io/name: tfjail-other\n  ports", "Service: selector"},
    {"deploy/kubernetes/kustomization.yaml", "  - service.yaml\n", "", "does not list service.yaml"},
    {"deploy/kubernetes/service.yaml", "  ports:", "  ports: [", "service.yaml: does not parse"},
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	long n;
	char *text;

	ck_assert_msg(f != NULL, "open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_gt(n, 0);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return text;
}

START_TEST(test_checker_catches)
{
	const struct mutation *m = &mutations[_i];
	char dir[] = "/tmp/tfjail-k8s-XXXXXX", path[4096], *text, *at, *out = NULL;
	FILE *f;

	ck_assert_ptr_nonnull(tj_test_mkdtemp(dir));
	for (size_t i = 0; i < sizeof(checked_files) / sizeof(checked_files[0]); i++) {
		char *o = NULL, *e = NULL, parent[4096];
		snprintf(parent, sizeof(parent), "%s/%s", dir, checked_files[i]);
		*strrchr(parent, '/') = '\0';
		char *const mk[] = {"/bin/mkdir", "-p", parent, NULL};
		ck_assert_int_eq(tj_test_spawn(mk, &o, &e), 0);
		free(o);
		free(e);
		char *const cp[] = {"/bin/cp", "-r", (char *)tj_test_src(checked_files[i]), parent, NULL};
		ck_assert_int_eq(tj_test_spawn(cp, &o, &e), 0);
		free(o);
		free(e);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, m->file);
	text = slurp(path);
	at = strstr(text, m->from);
	ck_assert_msg(at != NULL, "%s: '%s' not found", m->file, m->from);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "%.*s%s%s", (int)(at - text), text, m->to, at + strlen(m->from));
	fclose(f);
	free(text);

	ck_assert_msg(run_check(dir, &out) == 1, "%s: '%s' -> '%s' passed: %s", m->file, m->from, m->to, out);
	ck_assert_msg(strstr(out, m->expect), "%s: want '%s' in: %s", m->file, m->expect, out);
	free(out);
	tj_test_rm_rf(dir);
}
END_TEST

Suite *kubernetes_suite(void)
{
	Suite *s = suite_create("kubernetes");
	TCase *tc = tcase_create("manifests");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_manifests_agree);
	tcase_add_loop_test(tc, test_checker_catches, 0, (int)(sizeof(mutations) / sizeof(mutations[0])));
	suite_add_tcase(s, tc);
	return s;
}
