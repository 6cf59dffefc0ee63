// tests/schema/gen.js OUT.json - the cases of the schema differential test.
//
// Writes the schemas below (two modules, so that $ref crosses modules)
// and instances generated from them, deterministically (a seeded PRNG:
// SCHEMA_SEED, default 20240501), each with the verdict of ajv, an
// independent JSON Schema 2020-12 validator (ajv/dist/2020 with
// ajv-formats, versions pinned by package-lock.json). build/tests/schema/
// verdicts then checks the same pairs with asterd's validator and fails
// on any disagreement (run.sh runs both).
//
// Together the schemas use every keyword of the SPEC §14 subset, the
// annotations, boolean schemas and recursive $ref. Instances are JSON
// text, not JavaScript values, so that 1.0, 1e2 and -0 reach both
// validators as written. They stay clear of the differences asterd
// documents (util/ecma_pattern.c, contract/format.c, contract/value.c):
// no non-ASCII digits or letters where a pattern says \d, no U+2028 or
// U+2029, no date-time with a space or an offset without its colon, no
// urn:uuid: prefix, no e-mail address past RFC 5321's lengths, no
// duplicate member names, no lone surrogates, integers within 2^53, no
// number past a double's range, and no cycle made of $refs alone.
"use strict";

const fs = require("fs");
const Ajv2020 = require("ajv/dist/2020");
const addFormats = require("ajv-formats");

const PER_SCHEMA = 24;

// --- deterministic randomness ---------------------------------------------

let seed = Number(process.env.SCHEMA_SEED || 20240501) >>> 0;

function rnd() {
	// mulberry32
	seed = (seed + 0x6d2b79f5) >>> 0;
	let t = seed;
	t = Math.imul(t ^ (t >>> 15), t | 1);
	t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
	return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

function pick(list) {
	return list[Math.floor(rnd() * list.length)];
}

function chance(p) {
	return rnd() < p;
}

// --- JSON text with numbers as written --------------------------------------

// A number whose text matters (2.0, 1e2): emitted as is.
class Num {
	constructor(text) {
		this.text = text;
	}
}

function emit(v) {
	if (v instanceof Num)
		return v.text;
	if (v === null || typeof v === "boolean" || typeof v === "number")
		return JSON.stringify(v);
	if (typeof v === "string")
		return JSON.stringify(v);
	if (Array.isArray(v))
		return "[" + v.map(emit).join(",") + "]";
	return "{" + Object.keys(v).map((k) => JSON.stringify(k) + ":" +
	    emit(v[k])).join(",") + "}";
}

// --- the schemas ------------------------------------------------------------

const annotations = {
	title: "A note", description: "Annotations do not validate",
	$comment: "ignored", default: "x", examples: ["a", "b"],
	deprecated: true, readOnly: false, writeOnly: false,
};

const modules = {
	lib: {
		Item: {
			type: "object", required: ["name", "qty"],
			additionalProperties: false,
			properties: {
				name: { type: "string", minLength: 1, maxLength: 8,
				        pattern: "^\\p{Letter}+$" },
				qty: { type: "integer", minimum: 1, maximum: 99 },
				tags: { type: "array", maxItems: new Num("2.0"),
				        items: { enum: ["red", "green", "blue"] } },
			},
		},
		Id: { type: "string", format: "uuid" },
		Node: {
			type: "object", required: ["v"],
			properties: {
				v: { type: "integer" },
				kids: { type: "array", maxItems: 3,
				        items: { $ref: "Node" } },
			},
		},
	},
	app: {
		Order: {
			type: "object", required: ["id", "items", "at"],
			properties: {
				id: { $ref: "lib.Id" },
				items: { type: "array", minItems: 1,
				         items: { $ref: "lib.Item" } },
				at: { type: "string", format: "date-time" },
				contact: { type: ["string", "null"], format: "email" },
				note: Object.assign({ type: "string" }, annotations),
			},
			additionalProperties: { type: ["number", "boolean"] },
		},
		Numbers: { type: "number", minimum: -5, maximum: new Num("10.5") },
		Exclusive: { type: "integer", exclusiveMinimum: 0,
		             exclusiveMaximum: new Num("1e2") },
		Mixed: { type: ["integer", "string", "null"],
		         enum: [1, "1", null, new Num("2.50"), "two", false] },
		Konst: { const: { a: [1, true, null], b: "x" } },
		Zero: { const: 0 },
		Lengths: { type: "string", minLength: 2, maxLength: 4 },
		Password: { type: "string",
		            pattern: "^(?=.*[A-Z])(?=.*[0-9])[A-Za-z0-9]{4,8}$" },
		Digits: { pattern: "\\d{3}" },
		Escapes: { type: "string", pattern: "^\\u00e9[a-z]*\\u{1F600}?$" },
		Email: { type: "string", format: "email" },
		When: { format: "date-time" },
		Pairs: { type: "array", items: { type: ["integer", "null"] },
		         minItems: 2, maxItems: 3 },
		Closed: { type: "object", additionalProperties: false,
		          properties: { a: true, b: false, "c/d~e": { minimum: 1 } } },
		OnlyRequired: { required: ["x"], additionalProperties: false },
		Anything: true,
		Nothing: false,
		Tree: { $ref: "lib.Node", required: ["kids"] },
	},
};

// --- instances ----------------------------------------------------------------

const stringPool = [
	"", "a", "ab", "abc", "abcd", "abcde", "\u00e9", "\u00e9\u00e9",
	"\u00e9t\u00e9", "\u{1F600}", "\u{1F600}\u{1F600}x", "\u03b1\u03b2\u03b3",
	"Abc1", "abc1", "ABCD", "Passw0rd", "Pa55", "Pa5", "Passw0rd99",
	"red", "green", "blue", "purple", "x", "two", "1", "null", "true",
	"a123b", "12", "1234", "12a34", "\u00e9abc\u{1F600}", "\u00e9",
	"\u00e9abc", "e\u0301", "line\nbreak", "tab\tin", "quote\"d",
	"back\\slash", "a/b", "~0", "\u0000nul",
];

// Values of each format and pattern: mostly good ones, so that deep
// schemas (an order of items) pass often enough, and near misses.
const pools = {
	uuid: {
		good: ["3f2504e0-4f89-11d3-9a0c-0305e82c3301",
		       "00000000-0000-0000-0000-000000000000",
		       "3F2504E0-4F89-11D3-9A0C-0305E82C3301"],
		bad: ["3f2504e04f8911d39a0c0305e82c3301",
		      "3f2504e0-4f89-11d3-9a0c-0305e82c330",
		      "3f2504e0-4f89-11d3-9a0c-0305e82c330g",
		      "{3f2504e0-4f89-11d3-9a0c-0305e82c3301}"],
	},
	"date-time": {
		good: ["2024-05-01T12:34:56Z", "2024-05-01t12:34:56z",
		       "2024-05-01T12:34:56.123+05:30",
		       "2024-02-29T00:00:00-00:00",
		       "2000-02-29T23:59:59+23:59", "1990-12-31T23:59:60Z",
		       "1990-12-31T15:59:60-08:00"],
		bad: ["2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
		      "2024-05-01T12:34:60Z", "2024-04-31T10:00:00Z",
		      "2024-13-01T10:00:00Z", "2024-05-01T24:00:00Z",
		      "2024-05-01T12:60:00Z", "2024-05-01T12:34:56",
		      "2024-05-01", "12:34:56Z", "2024-05-01T12:34:56.Z",
		      "2024-05-01T12:34:56+24:00", "2024-05-01T12:34:56+05:60",
		      "24-05-01T12:34:56Z"],
	},
	email: {
		good: ["a@example.com", "first.last+tag@mail.example.co.uk",
		       "o'hara@x-y.example", "A@B.C"],
		bad: ["plain", "@example.com", "a@", "a@localhost",
		      "a..b@example.com", ".a@example.com", "a.@example.com",
		      "a@-example.com", "a@example-.com", "a@exa_mple.com",
		      "a@example..com", "a b@example.com", "a@[192.0.2.1]",
		      "a@b@example.com", "\u00e9@example.com"],
	},
	"^\\p{Letter}+$": {
		good: ["apple", "\u00e9t\u00e9", "\u03b1\u03b2", "Zz", "x"],
		bad: ["", "ab1", "a b", "\u{1F600}", "a-b"],
	},
	"^(?=.*[A-Z])(?=.*[0-9])[A-Za-z0-9]{4,8}$": {
		good: ["Pa55", "Passw0rd", "A1bc", "9zzZ"],
		bad: ["Pa5", "password1", "PASSWORD", "Passw0rd99", "Pa55!",
		      "Pa55\n", "\u00c91ab"],
	},
	"^\\u00e9[a-z]*\\u{1F600}?$": {
		good: ["\u00e9", "\u00e9abc", "\u00e9\u{1F600}",
		       "\u00e9xyz\u{1F600}"],
		bad: ["e", "\u00e9A", "\u00e9\u{1F600}\u{1F600}", "x\u00e9",
		      "\u00e9\n"],
	},
	"\\d{3}": {
		good: ["123", "a123b", "x0000"],
		bad: ["12", "1a2b3", "", "abc"],
	},
};

// Set for some instances: aim at a valid one (no random values, no
// extra members, values inside bounds), so that deep schemas pass too.
let careful = false;

function fromPool(pool) {
	return careful || chance(0.7) ? pick(pool.good) : pick(pool.bad);
}

function randomString() {
	return pick(stringPool);
}

// Equal values spelled differently: 1, 1.0, 1e0, 10e-1.
function numberText(n) {
	if (Number.isInteger(n) && chance(0.5))
		return new Num(pick([n.toFixed(1), n + "e0",
		                     (n * 10) + "e-1", n.toFixed(3)]));
	return new Num(String(n));
}

function randomNumber() {
	return numberText(pick([0, -0.0, 1, -1, 2, 2.5, 3, 5, 7, 10, 10.5,
	                        -5, -5.5, 99, 100, 101, 0.5, 1e3, 123456789,
	                        9007199254740991]));
}

function randomValue(depth) {
	const kinds = depth > 2 ? ["null", "bool", "num", "str"] :
	    ["null", "bool", "num", "str", "arr", "obj"];
	switch (pick(kinds)) {
	case "null": return null;
	case "bool": return chance(0.5);
	case "num": return randomNumber();
	case "str": return randomString();
	case "arr": {
		const a = [];
		for (let n = Math.floor(rnd() * 4); n > 0; n--)
			a.push(randomValue(depth + 1));
		return a;
	}
	default: {
		const o = {};
		for (let n = Math.floor(rnd() * 3); n > 0; n--)
			o[pick(["a", "b", "x", "v", "name", "c/d~e"])] =
			    randomValue(depth + 1);
		return o;
	}
	}
}

function resolve(ref, mod) {
	const dot = ref.lastIndexOf(".");
	return dot < 0 ? { schema: modules[mod][ref], mod } :
	    { schema: modules[ref.slice(0, dot)][ref.slice(dot + 1)],
	      mod: ref.slice(0, dot) };
}

// A value as written but spelled differently, or slightly changed.
function variant(v) {
	if (v instanceof Num)
		return chance(0.8) ? numberText(Number(v.text)) : randomNumber();
	if (typeof v === "number")
		return chance(0.8) ? numberText(v) : randomNumber();
	if (Array.isArray(v))
		return v.map((x) => chance(0.9) ? variant(x) : randomValue(3));
	if (v !== null && typeof v === "object") {
		const o = {};
		const keys = Object.keys(v);
		if (chance(0.5))
			keys.reverse();
		for (const k of keys)
			if (chance(0.95))
				o[k] = variant(v[k]);
		return o;
	}
	return chance(0.9) ? v : randomValue(3);
}

function bounds(s) {
	return ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]
	    .filter((k) => s[k] !== undefined)
	    .map((k) => Number(s[k] instanceof Num ? s[k].text : s[k]));
}

function genNumber(s, type) {
	const b = bounds(s);
	if (b.length === 0 || (!careful && chance(0.2)))
		return randomNumber();
	if (b.length >= 2 && (careful || chance(0.4))) {
		const lo = Math.min(...b), hi = Math.max(...b);
		return numberText(Math.round(lo + rnd() * (hi - lo)));
	}
	const n = pick(b) + pick([0, 0, 1, -1, 0.5, -0.5, 0.25, 2]);
	if (type === "integer" && !Number.isInteger(n) && chance(0.7))
		return numberText(Math.round(n));
	return numberText(n);
}

function genString(s) {
	if (s.format !== undefined && (careful || chance(0.9)))
		return fromPool(pools[s.format]);
	if (s.pattern !== undefined && (careful || chance(0.9)))
		return fromPool(pools[s.pattern]);
	return randomString();
}

function genArray(s, mod, depth) {
	const max = s.maxItems !== undefined ?
	    Number(s.maxItems instanceof Num ? s.maxItems.text : s.maxItems) + 1 :
	    3;
	const min = s.minItems !== undefined ? Number(s.minItems) : 0;
	const a = [];
	let n = Math.floor(rnd() * (max + 1));
	if (careful)
		n = Math.min(Math.max(n, min), max - 1);
	for (; n > 0; n--)
		a.push(s.items !== undefined ? gen(s.items, mod, depth + 1) :
		    randomValue(depth + 1));
	return a;
}

function genObject(s, mod, depth) {
	const o = {};
	const props = s.properties || {};
	const required = s.required || [];
	for (const k of Object.keys(props))
		if (props[k] !== false && (chance(required.includes(k) ?
		    (careful ? 1 : 0.9) : 0.5)))
			o[k] = gen(props[k], mod, depth + 1);
	for (const k of required)
		if (!(k in o) && !careful && chance(0.8))
			o[k] = randomValue(depth + 1);
	if (!careful && chance(depth === 0 ? 0.25 : 0.1)) {
		const k = pick(["extra", "a/b", "~x", "\u00e9"]);
		o[k] = s.additionalProperties !== undefined &&
		    typeof s.additionalProperties === "object" ?
		    gen(s.additionalProperties, mod, depth + 1) :
		    randomValue(depth + 1);
	}
	return o;
}

// A value aimed at schema s of module mod: mostly near what it takes,
// sometimes anything.
function gen(s, mod, depth) {
	if (s === true || s === false || depth > 4 ||
	    (!careful && chance(depth === 0 ? 0.12 : 0.04)))
		return randomValue(depth);
	if (s.$ref !== undefined && (chance(0.6) || !s.required)) {
		const r = resolve(s.$ref, mod);
		const v = gen(r.schema, r.mod, depth);
		if (s.required && v !== null && typeof v === "object" &&
		    !Array.isArray(v) && chance(0.7))
			for (const k of s.required)
				if (!(k in v))
					v[k] = gen({ type: "array", items: r.schema,
					             maxItems: 2 }, r.mod, depth + 1);
		return v;
	}
	if (s.const !== undefined)
		return variant(s.const);
	if (s.enum !== undefined)
		return variant(pick(s.enum));
	let types = s.type === undefined ? [] :
	    Array.isArray(s.type) ? s.type : [s.type];
	if (types.length === 0)
		types = s.format || s.pattern || s.minLength !== undefined ?
		    ["string", "string", "number", "null"] :
		    s.properties || s.required ? ["object", "object", "array"] :
		    s.minimum !== undefined || s.maximum !== undefined ?
		    ["number", "number", "string"] :
		    ["null", "boolean", "number", "string", "array", "object"];
	const type = pick(types);
	switch (type) {
	case "null": return null;
	case "boolean": return chance(0.5);
	case "integer":
	case "number": return genNumber(s, type);
	case "string": return genString(s);
	case "array": return genArray(s, mod, depth);
	default: return genObject(s, mod, depth);
	}
}

// --- ajv's verdicts -------------------------------------------------------------

// Bare $ref names are the module's own: ajv gets them qualified.
function qualify(s, mod) {
	if (s instanceof Num || s === null || typeof s !== "object")
		return s;
	if (Array.isArray(s))
		return s.map((x) => qualify(x, mod));
	const o = {};
	for (const k of Object.keys(s))
		o[k] = k === "$ref" && !s[k].includes(".") ? mod + "." + s[k] :
		    k === "enum" || k === "const" || k === "default" ||
		    k === "examples" ? s[k] : qualify(s[k], mod);
	return o;
}

function main() {
	const out = process.argv[2];
	if (!out) {
		console.error("usage: node gen.js OUT.json");
		process.exit(64);
	}
	const ajv = new Ajv2020({ strict: false });
	addFormats(ajv, ["uuid", "date-time", "email"]);
	const moduleTexts = [];
	for (const mod of Object.keys(modules)) {
		const named = {};
		for (const name of Object.keys(modules[mod])) {
			named[name] = modules[mod][name];
			ajv.addSchema(JSON.parse(emit(qualify(named[name], mod))),
			              mod + "." + name);
		}
		moduleTexts.push({ id: mod, schemas: emit(named) });
	}
	const cases = [];
	let valid = 0;
	for (const mod of Object.keys(modules)) {
		for (const name of Object.keys(modules[mod])) {
			const check = ajv.getSchema(mod + "." + name);
			for (let i = 0; i < PER_SCHEMA; i++) {
				careful = i % 3 === 0;
				const text = emit(gen(modules[mod][name], mod, 0));
				const verdict = check(JSON.parse(text));
				valid += verdict ? 1 : 0;
				cases.push({ schema: mod + "." + name,
				             instance: text, valid: verdict });
			}
		}
	}
	fs.writeFileSync(out, JSON.stringify({ modules: moduleTexts, cases }));
	console.log(`schema: ${cases.length} instances over ` +
	    `${Object.values(modules).reduce((n, m) =>
	        n + Object.keys(m).length, 0)} schemas, ` +
	    `${valid} valid and ${cases.length - valid} invalid for ajv`);
}

main();
