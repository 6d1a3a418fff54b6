/* Where the executor puts things inside the sandbox. */
#ifndef TFJAIL_EXECUTOR_SANDBOXPATHS_H
#define TFJAIL_EXECUTOR_SANDBOXPATHS_H

#define SB_TERRAFORM  "/usr/local/bin/terraform"
#define SB_PLUGINS    "/plugins"
#define SB_RUNNER     "/run/tfjail" /* runner-owned files: CLI config, variables */
#define SB_CLI_CONFIG SB_RUNNER "/terraformrc"
#define SB_PLANFILE   "/tmp/tfjail.tfplan"
#define SB_DATA_DIR   "/tmp/tfdata"
#define SB_WORKSPACE  "/workspace"

#endif
