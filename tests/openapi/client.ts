/*
 * client.ts - a small client typed only by what openapi-typescript made of
 * asterd's OpenAPI documents (tests/openapi/run.sh compiles it with
 * `tsc --strict --noEmit` beside product.ts and distro.ts; it never runs).
 *
 * One generic call covers every JSON operation: its path, method, path
 * parameters, body and answers all come from `paths`, so a wrong path, a
 * missing parameter or a body of the wrong shape fails to compile. The
 * `@ts-expect-error` lines prove that: were the generated types loose
 * (`any`, `unknown`), they would compile, and tsc would reject the unused
 * directive.
 */
import type { components, paths } from "./product";
import type { paths as distroPaths } from "./distro";

type Method = "get" | "put" | "post" | "delete" | "patch";

/* The operation at path P with method M, when there is one. */
type Operation<P extends keyof paths, M extends Method> =
	paths[P][M] extends infer O ? (O extends { responses: unknown } ? O :
	never) : never;

/* The paths that have method M. */
type PathsWith<M extends Method> = {
	[P in keyof paths]: Operation<P, M> extends never ? never : P;
}[keyof paths];

type JsonOf<T> = T extends { content: { "application/json": infer B } } ?
	B : never;
type ProblemOf<T> =
	T extends { content: { "application/problem+json": infer B } } ?
	B : never;

type PathParams<O> = O extends { parameters: { path: infer P } } ?
	P : Record<string, never>;
type Body<O> = O extends { requestBody: infer R } ? JsonOf<R> : undefined;

/* Every answer the operation declares: a status and what it carries. */
type Answer<O> = O extends { responses: infer R } ? {
	[S in keyof R]: {
		status: S;
		json: JsonOf<R[S]>;
		problem: ProblemOf<R[S]>;
	};
}[keyof R] : never;

export async function call<M extends Method, P extends PathsWith<M>>(
	base: string, method: M, path: P,
	params: PathParams<Operation<P, M>>, body: Body<Operation<P, M>>,
	token?: string): Promise<Answer<Operation<P, M>>> {
	const url = String(path).replace(/\{(\w+)\}/g, (_, name: string) =>
		encodeURIComponent((params as Record<string, string>)[name]));
	const headers: Record<string, string> = {};

	if (token !== undefined)
		headers["Authorization"] = `Bearer ${token}`;
	if (body !== undefined)
		headers["Content-Type"] = "application/json";
	const res = await fetch(base + url, {
		method: method.toUpperCase(),
		headers,
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const text = await res.text();
	const value: unknown = text === "" ? undefined : JSON.parse(text);
	const ok = res.headers.get("Content-Type") === "application/json";

	return {
		status: res.status,
		json: ok ? value : undefined,
		problem: ok ? undefined : value,
	} as Answer<Operation<P, M>>;
}

type Item = components["schemas"]["catalog.Item"];
type Problem = components["schemas"]["Problem"];

export async function example(base: string, token: string): Promise<void> {
	const added = await call(base, "post", "/gateway/v1/catalog/items", {},
		{ name: "Lamp", price: { amount: 1999, currency: "EUR" },
		  tags: ["light"] }, token);

	if (added.status === 201) {
		const item: Item = added.json;
		const cents: number = item.price.amount;
		void cents;
	} else if (added.status === 422) {
		/* The validation problem says where the body broke. */
		const where: string = added.problem.errors[0].pointer;
		const problem: Problem = added.problem;
		void where;
		void problem;
	}

	const one = await call(base, "get", "/gateway/v1/orders/{orderId}",
		{ orderId: "o-1" }, undefined, token);
	void one;

	/* A respond handler's body is known exactly. */
	const reindex = await call(base, "post",
		"/gateway/v1/admin/catalog/reindex", {}, undefined, token);
	if (reindex.status === 202) {
		const queued: true = reindex.json.queued;
		void queued;
	}

	// @ts-expect-error price is required
	await call(base, "post", "/gateway/v1/catalog/items", {}, { name: "x" });
	await call(base, "post", "/gateway/v1/catalog/items", {},
		// @ts-expect-error a currency the schema does not list
		{ name: "x", price: { amount: 1, currency: "GBP" } });
	await call(base, "post", "/gateway/v1/catalog/items", {},
		// @ts-expect-error additionalProperties: false
		{ name: "x", price: { amount: 1, currency: "EUR" }, colour: "red" });
	// @ts-expect-error the path takes {orderId}
	await call(base, "get", "/gateway/v1/orders/{orderId}", {}, undefined);
	// @ts-expect-error no such path
	await call(base, "get", "/gateway/v1/nowhere", {}, undefined);
	// @ts-expect-error the health route has no POST
	await call(base, "post", "/gateway/v1/health", {}, undefined);
}

/* The shipped product's health answer is {"status": "ok"} exactly. */
type Health = distroPaths["/gateway/v1/health"]["get"]["responses"][200];
export const healthy: JsonOf<Health> = { status: "ok" };
// @ts-expect-error status is the constant "ok"
export const unhealthy: JsonOf<Health> = { status: "down" };
