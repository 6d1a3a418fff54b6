// Validates SARIF files against the SARIF 2.1.0 JSON schema (rtm.5, the
// final 2.1.0 schema, as shipped by the npm package @microsoft/jest-sarif),
// with ajv 6 (draft-04), then checks what GitHub code scanning requires of
// an upload beyond the schema.  Usage: node validate.js NODE_MODULES FILE...
// Exit 0 valid, 1 invalid (reasons on stderr), 2 setup error.
'use strict';
const fs = require('fs');
const path = require('path');

const modules = path.resolve(process.argv[2]);
let Ajv, schema, draft4;
try {
	Ajv = require(path.join(modules, 'ajv'));
	draft4 = require(path.join(modules, 'ajv/lib/refs/json-schema-draft-04.json'));
	schema = require(path.join(modules, '@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'));
} catch (e) {
	console.error(`sarif validator not installed under ${modules}: ${e.message}`);
	process.exit(2);
}
const ajv = new Ajv({schemaId: 'auto', allErrors: true, validateSchema: false});
ajv.addMetaSchema(draft4);
const validate = ajv.compile(schema);

// GitHub code scanning: runs[].tool.driver.name, and per result
// message.text, ruleId, one location with artifactLocation.uri and a
// region whose startLine is >= 1 when present.
function githubProblems(log) {
	const out = [];
	(log.runs || []).forEach((run, i) => {
		if (!run.tool || !run.tool.driver || !run.tool.driver.name) out.push(`runs[${i}].tool.driver.name missing`);
		const ids = new Set(((run.tool && run.tool.driver && run.tool.driver.rules) || []).map((r) => r.id));
		(run.results || []).forEach((r, j) => {
			const at = `runs[${i}].results[${j}]`;
			if (!r.message || typeof r.message.text !== 'string') out.push(`${at}.message.text missing`);
			if (!r.ruleId || !ids.has(r.ruleId)) out.push(`${at}.ruleId not among the driver's rules`);
			if (!Array.isArray(r.locations) || r.locations.length !== 1) out.push(`${at}.locations: one location`);
			else {
				const pl = r.locations[0].physicalLocation;
				if (!pl || !pl.artifactLocation || !pl.artifactLocation.uri) out.push(`${at}: no artifactLocation.uri`);
				if (pl && pl.region && !(pl.region.startLine >= 1)) out.push(`${at}: region.startLine < 1`);
			}
		});
	});
	return out;
}

let bad = 0;
for (const file of process.argv.slice(3)) {
	const log = JSON.parse(fs.readFileSync(file, 'utf8'));
	const problems = validate(log) ? [] : validate.errors.map((e) => `${e.dataPath} ${e.message}`);
	problems.push(...githubProblems(log));
	for (const p of problems) console.error(`${file}: ${p}`);
	if (problems.length) bad = 1;
}
process.exit(bad);
