/* Where the executor puts things inside the sandbox. */
#ifndef TFJAIL_EXECUTOR_SANDBOXPATHS_H
#define TFJAIL_EXECUTOR_SANDBOXPATHS_H

#define SB_TERRAFORM  "/usr/local/bin/terraform"
#define SB_PLUGINS    "/plugins"
#define SB_RUNNER     "/run/tfjail" /* runner-owned files: CLI config, variables */
#define SB_CLI_CONFIG SB_RUNNER "/terraformrc"
#define SB_PLANFILE   "/tmp/tfjail.tfplan"
#define SB_DATA_DIR   "/tmp/tfdata"
#define SB_WORKSPACE "/workspace"

/* The platform directory of the mirror's unpacked layout: terraform's own
 * (GOOS_GOARCH), which is this host's as terraform runs on it. */
#if defined(__x86_64__)
#define MIRROR_PLATFORM "linux_amd64"
#elif defined(__aarch64__)
#define MIRROR_PLATFORM "linux_arm64"
#elif defined(__i386__)
#define MIRROR_PLATFORM "linux_386"
#elif defined(__arm__)
#define MIRROR_PLATFORM "linux_arm"
#else
/* not a platform terraform builds for: the reattach finds no provider and
 * terraform starts its own; add the GOOS_GOARCH name above */
#define MIRROR_PLATFORM "linux_unknown"
#endif

#endif
