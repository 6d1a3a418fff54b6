# api/: the OpenAPI document, embedded like policy/default.json.

$(BUILD)/gen/openapi_json.inc: api/openapi.json
	$(EMBED_TEXT)

$(BUILD)/api/openapi.o: $(BUILD)/gen/openapi_json.inc
$(BUILD)/api/openapi.o: CFLAGS_ALL += -I$(BUILD)/gen
