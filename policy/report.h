/* Findings in the formats other tools read: SARIF 2.1.0 (GitHub code
 * scanning, trivy, checkov) and JUnit XML (CI test reports).  The input is
 * an array of CONTRACT Violation objects ({"rule","severity","file","line",
 * "message"} and, for plan rules, "address"), as `scan --output json` and
 * the ExecutionResponse carry them. */
#ifndef TFJAIL_POLICY_REPORT_H
#define TFJAIL_POLICY_REPORT_H

#include <cJSON.h>

#include "policy/policy.h"

/* A SARIF 2.1.0 log with one run: the tool with every rule of the catalogue
 * (id, rationale, default level from p), one result per violation (level,
 * message, file and line, the resource address as a logical location) and
 * the suppressed ones with their reason.  suppressed may be NULL. */
cJSON *tj_report_sarif(const cJSON *violations, const cJSON *suppressed, const struct tj_policy *p);

/* JUnit XML: one test suite named suite, one test case per rule of the
 * catalogue that the policy enables, failed by its error-severity violations
 * (warnings are listed in system-out).  Caller frees. */
char *tj_report_junit(const cJSON *violations, const struct tj_policy *p, const char *suite);

#endif
