/* libFuzzer target: the HCL lexer and the structural parser.
 * Built by `make fuzz` (clang, -fsanitize=fuzzer,address,undefined); the seed
 * corpus in tests/fuzz/corpus/hcl and the scan fixtures are replayed by the
 * hcl_json suite (corpus_replay_hcl). */
#include <stddef.h>
#include <stdint.h>

#include "policy/hcl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hcl_lexer lx;
	struct hcl_token t;
	struct hcl_file f;
	struct hcl_parse_error perr;

	/* the lexer alone, to the end */
	if (hcl_lex_init(&lx, (const char *)data, size, 64, 100000) == 0) {
		do
			hcl_lex_next(&lx, &t);
		while (t.type != HCL_T_EOF && t.type != HCL_T_ERROR);
		hcl_lex_free(&lx);
	}
	/* and the parser on top of it */
	if (hcl_parse((const char *)data, size, 64, 100000, &f, &perr) == 0)
		hcl_file_free(&f);
	return 0;
}
