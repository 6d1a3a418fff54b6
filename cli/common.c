#include "cli/common.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "policy/report.h"
#include "policy/scan.h"
#include "runtime/sandbox.h"

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("tfjail: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return TJ_EXIT_USAGE;
}

int cli_command_error(const struct cli_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tfjail: %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see tfjail %s --help)\n", cmd->name);
	return TJ_EXIT_USAGE;
}

int cli_bad_value(const struct cli_args *a, const char *wants)
{
	return cli_usage_error("%s: %s wants %s, not '%s'", a->cmd->name, a->option, wants,
	                       a->value ? a->value : "");
}

static const struct option help_option = {"help", no_argument, NULL, 'h'};

void cli_args_init(struct cli_args *a, const struct cli_command *cmd, int argc, char **argv)
{
	size_t n = 0;

	memset(a, 0, sizeof(*a));
	a->cmd = cmd;
	a->argc = argc;
	a->argv = argv;
	for (const struct option *o = cmd->options; o && o->name && n < CLI_MAX_OPTIONS; o++)
		a->longopts[n++] = *o;
	a->longopts[n++] = help_option;
	/* "-": operands come back in place (value 1), argv is never permuted;
	 * ":": a missing value is told apart from an unknown option. */
	snprintf(a->shortopts, sizeof(a->shortopts), "-:h%s", cmd->shortopts ? cmd->shortopts : "");
	optind = 0; /* glibc: a full reset, also of a half-read cluster like -qx */
	opterr = 0;
}

static size_t operand_names(const struct cli_command *cmd)
{
	size_t n = 0;

	while (cmd->operands && cmd->operands[n])
		n++;
	return n;
}

/* The argument getopt just complained about: the element it finished
 * (optind moved past it) or the cluster it is still in. */
static const char *offending(const struct cli_args *a, int before)
{
	int i = optind > before ? optind - 1 : optind;

	return i >= 1 && i < a->argc ? a->argv[i] : "?";
}

static bool takes_no_value(const struct cli_args *a, const char *arg)
{
	const char *eq = strchr(arg, '=');

	if (strncmp(arg, "--", 2) != 0 || !eq)
		return false;
	for (const struct option *o = a->longopts; o->name; o++)
		if (o->has_arg == no_argument && strncmp(o->name, arg + 2, (size_t)(eq - arg - 2)) == 0)
			return true;
	return false;
}

static int add_operand(struct cli_args *a, int index)
{
	size_t max = operand_names(a->cmd);

	if (a->n_operands >= max || a->n_operands >= CLI_MAX_OPERANDS) {
		a->exit_code = cli_command_error(a->cmd, "unexpected argument '%s'", a->argv[index]);
		return CLI_EXIT;
	}
	a->operand[a->n_operands++] = a->argv[index];
	if (a->cmd->command_line && a->n_operands == max) {
		a->rest = a->argv + index;
		a->n_rest = a->argc - index;
		return CLI_END;
	}
	return 0;
}

static int finish(struct cli_args *a)
{
	if (a->n_operands < a->cmd->min_operands) {
		a->exit_code = cli_command_error(a->cmd, "missing %s", a->cmd->operands[a->n_operands]);
		return CLI_EXIT;
	}
	return CLI_END;
}

int cli_args_next(struct cli_args *a)
{
	for (;;) {
		int before = optind, index = -1, c, r;

		if (a->rest)
			return CLI_END;
		c = getopt_long(a->argc, a->argv, a->shortopts, a->longopts, &index);
		a->value = optarg;
		switch (c) {
		case -1: /* after "--": the rest are operands */
			for (int i = optind; i < a->argc; i++)
				if ((r = add_operand(a, i)) != 0)
					return r == CLI_END ? finish(a) : r;
			return finish(a);
		case 1:
			if ((r = add_operand(a, optind - 1)) != 0)
				return r == CLI_END ? finish(a) : r;
			continue;
		case ':':
			a->exit_code =
			    cli_command_error(a->cmd, "option '%s' needs a value", offending(a, before));
			return CLI_EXIT;
		case '?': {
			const char *arg = offending(a, before);
			a->exit_code = cli_command_error(a->cmd,
			                                 takes_no_value(a, arg) ? "option '%s' takes no value"
			                                                        : "unknown option '%s'",
			                                 arg);
			return CLI_EXIT;
		}
		case 'h':
			fputs(a->cmd->usage, stdout);
			a->exit_code = TJ_EXIT_OK;
			return CLI_EXIT;
		default:
			if (index >= 0)
				snprintf(a->option_buf, sizeof(a->option_buf), "--%s",
				         a->longopts[index].name);
			else
				snprintf(a->option_buf, sizeof(a->option_buf), "-%c", c);
			a->option = a->option_buf;
			return c;
		}
	}
}

int cli_parse_format(const char *s, unsigned allowed, enum cli_format *out)
{
	static const struct {
		const char *name;
		enum cli_format f;
	} names[] = {
	    {"text", CLI_FORMAT_TEXT},
	    {"json", CLI_FORMAT_JSON},
	    {"sarif", CLI_FORMAT_SARIF},
	    {"junit", CLI_FORMAT_JUNIT},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0 && (allowed & names[i].f)) {
			*out = names[i].f;
			return 0;
		}
	return -1;
}

static int print_json(cJSON *j)
{
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;
	int rc = s ? 0 : -1;

	if (s)
		puts(s);
	free(s);
	cJSON_Delete(j);
	return rc;
}

int cli_print_report(const cJSON *violations, const cJSON *suppressed, const struct tj_policy *p,
                     enum cli_format f, const char *suite)
{
	if (f == CLI_FORMAT_SARIF) {
		cJSON *log = tj_report_sarif(violations, suppressed, p);
		char *s = log ? cJSON_PrintUnformatted(log) : NULL;
		cJSON_Delete(log);
		if (!s)
			return -1;
		puts(s);
		free(s);
	} else {
		char *x = tj_report_junit(violations, p, suite);
		if (!x)
			return -1;
		fputs(x, stdout);
		free(x);
	}
	return fflush(stdout) == 0 ? 0 : -1;
}

static cJSON *violations_json(const struct tj_violation *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a && i < n; i++)
		cJSON_AddItemToArray(a, tj_violation_to_json(&v[i]));
	return a;
}

int cli_print_findings(const struct tj_scan_result *res, const struct tj_policy *p, enum cli_format f,
                       const char *suite)
{
	cJSON *o, *v, *s;
	int rc;

	switch (f) {
	case CLI_FORMAT_TEXT:
		for (size_t i = 0; i < res->n; i++) {
			const struct tj_violation *x = &res->v[i];
			printf("%s:%d: %s [%s] %s\n", x->file, x->line, x->severity, x->rule, x->message);
		}
		for (size_t i = 0; i < res->n_suppressed; i++) {
			const struct tj_violation *x = &res->suppressed[i];
			printf("%s:%d: suppressed [%s] %s (policy: %s)\n", x->file, x->line, x->rule,
			       x->message, x->reason);
		}
		return fflush(stdout) == 0 ? 0 : -1;
	case CLI_FORMAT_JSON:
		o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "violations", violations_json(res->v, res->n));
		if (res->n_suppressed)
			cJSON_AddItemToObject(o, "suppressed",
			                      violations_json(res->suppressed, res->n_suppressed));
		return print_json(o) < 0 || fflush(stdout) != 0 ? -1 : 0;
	default:
		v = violations_json(res->v, res->n);
		s = violations_json(res->suppressed, res->n_suppressed);
		rc = v && s ? cli_print_report(v, s, p, f, suite) : -1;
		cJSON_Delete(v);
		cJSON_Delete(s);
		return rc;
	}
}

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
