/* Terraform's JSON configuration syntax (.tf.json), read with cJSON and
 * mapped onto the HCL tree of hcl.h as terraform maps it: block types are
 * properties, labels are nested keys, arrays mean repeated blocks, duplicate
 * keys all count, "//" is a comment in bodies, escapes are decoded.  String
 * values are templates: one with an unescaped ${ or %{ is a
 * HCL_EXPR_TEMPLATE, never a literal.  Lines come from a scan of the text
 * (cJSON keeps none). */
#ifndef TFJAIL_POLICY_TFJSON_H
#define TFJAIL_POLICY_TFJSON_H

#include <stddef.h>

#include "policy/hcl.h"

int tfjson_parse(const char *src, size_t len, size_t max_nesting, struct hcl_file *out,
		 struct hcl_parse_error *perr);

#endif
