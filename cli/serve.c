/* tfjail serve: the HTTP API (api/server.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/config.h"
#include "api/server.h"
#include "cli/cli.h"
#include "cli/common.h"

static const struct option serve_options[] = {
    {"config", required_argument, NULL, 'c'},
    {"listen", required_argument, NULL, 'l'},
    {"print-config", no_argument, NULL, 'p'},
    {NULL, 0, NULL, 0},
};

static const struct cli_command serve_command = {
    .name = "serve",
    .options = serve_options,
    .usage =
        "Usage: tfjail serve [--config FILE] [--listen HOST:PORT] [--print-config]\n\n"
        "Serves the HTTP API until SIGTERM or SIGINT:\n"
        "  POST   /api/v1/execute        run a job and wait for its ExecutionResponse\n"
        "  POST   /api/v1/jobs           queue a job: 202 and the job's document\n"
        "  GET    /api/v1/jobs/{job_id}  the job: QUEUED, RUNNING, then its result\n"
        "  DELETE /api/v1/jobs/{job_id}  cancel the job (queued or running)\n"
        "  GET    /health                health, terraform version, jobs running and queued\n"
        "  GET    /ready                 whether a job sent now would run\n"
        "  GET    /                      service name, version, links\n"
        "  GET    /openapi.json          OpenAPI 3 description\n"
        "  GET    /metrics               Prometheus metrics\n"
        "With a token configured, /api/v1/execute and /api/v1/jobs need\n"
        "'Authorization: Bearer TOKEN' (so do /metrics and /openapi.json when\n"
        "protect_metrics and protect_openapi say so).\n\n"
        "Options:\n"
        "  --config FILE          JSON configuration (see docs/api.md and config/tfjail.json)\n"
        "  --listen HOST:PORT     listen address (default " API_DEFAULT_LISTEN "; port 0 picks a free one)\n"
        "  --print-config         print the effective configuration as JSON and exit\n\n"
        "The environment overrides the file's host settings: TFJAIL_TERRAFORM,\n"
        "TFJAIL_PLUGIN_DIR, TFJAIL_CGROUP_PARENT, TFJAIL_UID_RANGE=BASE:SLOTS.\n\n"
        "A job's input is the directory <uploads_dir>/<upload_id>/ (default "
        "uploads_dir\n" API_DEFAULT_UPLOADS_DIR
        ").\nOn SIGTERM new requests are answered 503, running jobs may finish within the\n"
        "shutdown grace period, then the service exits 0.  SIGHUP reads the configuration\n"
        "and the policy again (both or neither).\n\n"
        "Exit status: 0 after a clean shutdown, 2 usage, configuration or start-up error.\n",
};

int cmd_serve(int argc, char **argv)
{
	const char *config = NULL, *listen = NULL;
	bool print = false;
	struct api_config cfg;
	struct tj_error err = {0};
	struct cli_args a;
	int opt, rc;

	cli_args_init(&a, &serve_command, argc, argv);
	while ((opt = cli_args_next(&a)) != CLI_END) {
		switch (opt) {
		case CLI_EXIT: return a.exit_code;
		case 'c': config = a.value; break;
		case 'l': listen = a.value; break;
		case 'p': print = true; break;
		}
	}
	if (api_config_defaults(&cfg, &err) < 0)
		return cli_usage_error("%s", err.msg);
	if (config && api_config_load(config, &cfg, &err) < 0) {
		api_config_free(&cfg);
		return cli_usage_error("%s", err.msg);
	}
	if (listen) {
		char host[256];
		unsigned port;
		char *copy;
		if (api_parse_listen(listen, host, sizeof(host), &port, &err) < 0) {
			api_config_free(&cfg);
			return cli_usage_error("serve: --listen: %s", err.msg);
		}
		copy = strdup(listen);
		if (!copy) {
			api_config_free(&cfg);
			return cli_usage_error("serve: out of memory");
		}
		free(cfg.listen);
		cfg.listen = copy;
	}
	{
		struct cli_host_values v = {cfg.terraform, cfg.plugin_dir, cfg.cgroup_parent, cfg.uid_range};
		if (cli_host_settings(&v, &cfg.host, &err) < 0) {
			api_config_free(&cfg);
			return cli_usage_error("serve: %s", err.msg);
		}
	}
	if (print)
		rc = api_config_print(&cfg, stdout, &err) < 0 ? cli_usage_error("serve: %s", err.msg)
		                                              : TJ_EXIT_OK;
	else
		rc = api_serve(&cfg, &err) < 0 ? cli_usage_error("serve: %s", err.msg) : TJ_EXIT_OK;
	api_config_free(&cfg);
	return rc;
}
