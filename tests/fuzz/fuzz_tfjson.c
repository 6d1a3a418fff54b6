/* libFuzzer target: the .tf.json reader (cJSON + terraform's JSON mapping).
 * Built by `make fuzz`; tests/fuzz/corpus/tfjson and the scan fixtures'
 * .tf.json files are replayed by the hcl_json suite (corpus_replay_tfjson). */
#include <stddef.h>
#include <stdint.h>

#include "policy/tfjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hcl_file f;
	struct hcl_parse_error perr;

	if (tfjson_parse((const char *)data, size, 64, &f, &perr) == 0)
		hcl_file_free(&f);
	return 0;
}
