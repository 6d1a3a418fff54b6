#include "cli/common.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "runtime/sandbox.h"

int cli_parse_cpus(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v >= 0.01 && v <= 1024))
		return -1;
	*out = v;
	return 0;
}

int cli_open_runtime(const struct tj_policy *policy, struct sandbox_runtime **rt, struct tj_error *err)
{
	struct sandbox_runtime_options ro = {.cgroup = {.force_mode = -1}};
	const char *parent = getenv("TFJAIL_CGROUP_PARENT");

	/* an operator-prepared parent for the job cgroups (docs/cgroups.md) */
	if (parent && *parent)
		ro.cgroup.parent = parent;

	ro.seccomp_deny = (const char *const *)policy->seccomp.deny;
	ro.n_seccomp_deny = policy->seccomp.n_deny;
	return sandbox_runtime_open(&ro, rt, err);
}

static void on_signal(int signo)
{
	sandbox_cancel(signo);
}

void cli_cancel_on_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: the waits see EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}
