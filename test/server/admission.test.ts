import assert from "node:assert/strict";
import { request } from "node:https";
import { after, before, describe, test } from "node:test";
import { decide } from "../../src/mutation/decide.js";
import { defaultEngineOptions } from "../../src/mutation/options.js";
import type { Pod } from "../../src/mutation/pod.js";
import { reviewJson, reviewText } from "../unit/admission/fixtures.js";
import { FakeServiceAccountSource } from "./support/fake-serviceaccount-source.js";
import { review, send } from "./support/https-client.js";
import { appServiceAccount, roleArn, startTestWebhook, type TestWebhook } from "./support/webhook.js";

interface ReviewAnswer {
  apiVersion: string;
  kind: string;
  response: {
    uid: string;
    allowed: boolean;
    patchType?: string;
    patch?: string;
    warnings?: string[];
    status?: { code: number; message: string };
  };
}

function decodedPatch(answer: ReviewAnswer): unknown {
  return JSON.parse(Buffer.from(answer.response.patch ?? "", "base64").toString("utf8"));
}

const maxBodyBytes = 64 * 1024;

describe("POST /mutate over HTTPS", () => {
  let webhook: TestWebhook;
  const source = new FakeServiceAccountSource([
    appServiceAccount,
    { namespace: "shop", name: "plain", annotations: {} },
  ]);

  before(async () => {
    webhook = await startTestWebhook({ source, maxBodyBytes, lookupTimeoutMs: 100 });
  });
  after(async () => {
    await webhook.stop();
  });

  test("mutates a pod created by a controller, finding its ServiceAccount through request.namespace", async () => {
    const body = reviewJson("pod-create-v1");
    const answer = await review(webhook, reviewText("pod-create-v1"));
    assert.equal(answer.status, 200);
    assert.match(String(answer.headers["content-type"]), /^application\/json/);
    const result = answer.json() as ReviewAnswer;
    assert.equal(result.apiVersion, "admission.k8s.io/v1");
    assert.equal(result.kind, "AdmissionReview");
    assert.equal(result.response.uid, "705ab4f5-6393-11e8-b7cc-42010a800002");
    assert.equal(result.response.allowed, true);
    assert.equal(result.response.patchType, "JSONPatch");
    assert.equal(result.response.warnings, undefined);
    const expected = decide(body.request.object as Pod, appServiceAccount, defaultEngineOptions).patch;
    assert.deepEqual(decodedPatch(result), expected);
    assert.ok(JSON.stringify(expected).includes(roleArn));
    assert.ok(source.lookups.includes("shop/app"));

    const line = webhook.log.lines().find((l) => l.uid === "705ab4f5-6393-11e8-b7cc-42010a800002");
    assert.ok(line, "one log line for the review");
    assert.deepEqual(
      { ...line, time: 0, pid: 0, hostname: "", durationMs: 0 },
      {
        level: 30,
        time: 0,
        pid: 0,
        hostname: "",
        uid: "705ab4f5-6393-11e8-b7cc-42010a800002",
        namespace: "shop",
        pod: "app-7d4b9-",
        serviceAccount: "app",
        reason: "mutated",
        mutated: true,
        warnings: 0,
        durationMs: 0,
        msg: "review",
      },
    );
    assert.equal(typeof line.durationMs, "number");
  });

  test("times a review from its arrival: a 40 ms lookup shows in the log line", async () => {
    const body = reviewJson("pod-create-v1");
    body.request.uid = "uid-timed";
    source.delayMs = 40;
    try {
      assert.equal((await review(webhook, JSON.stringify(body))).status, 200);
    } finally {
      source.delayMs = 0;
    }
    const line = webhook.log.lines().find((l) => l.uid === "uid-timed");
    assert.ok(
      typeof line?.durationMs === "number" && line.durationMs >= 35,
      `durationMs ${line?.durationMs}`,
    );
    assert.ok(line.durationMs < 5_000);
  });

  test("answers a v1beta1 review in v1beta1", async () => {
    const result = (await review(webhook, reviewText("pod-create-v1beta1"))).json() as ReviewAnswer;
    assert.equal(result.apiVersion, "admission.k8s.io/v1beta1");
    assert.equal(result.response.uid, "8f1c2a9e-0b7d-4c55-9e21-3d6f7a8b9c01");
    assert.equal(result.response.patchType, "JSONPatch");
  });

  const unchanged: ReadonlyArray<readonly [string, () => unknown, string]> = [
    ["admits a Deployment unchanged", () => reviewJson("deployment-create-v1"), "not-a-pod"],
    ["admits a pod UPDATE unchanged", () => reviewJson("pod-update-v1"), "not-create"],
    [
      "admits a pod whose ServiceAccount has no role unchanged",
      () => {
        const body = reviewJson("pod-create-v1");
        body.request.uid = "uid-plain";
        (body.request.object as { spec: { serviceAccountName: string } }).spec.serviceAccountName = "plain";
        return body;
      },
      "no-role-arn",
    ],
    [
      "admits a pod of the ephemeralcontainers subresource unchanged",
      () => {
        const body = reviewJson("pod-create-v1");
        body.request.uid = "uid-subresource";
        body.request.subResource = "ephemeralcontainers";
        return body;
      },
      "not-a-pod",
    ],
  ];
  for (const [name, make, reason] of unchanged) {
    test(name, async () => {
      const body = make() as { request: { uid: string } };
      const answer = await review(webhook, body);
      assert.equal(answer.status, 200);
      assert.deepEqual((answer.json() as ReviewAnswer).response, { uid: body.request.uid, allowed: true });
      const line = webhook.log.lines().find((l) => l.uid === body.request.uid);
      assert.equal(line?.reason, reason);
      assert.equal(line?.mutated, false);
    });
  }

  test("admits a pod with a warning when its ServiceAccount cannot be looked up", async () => {
    source.failure = new Error("GET serviceaccounts/app timed out after 2000 ms");
    try {
      const body = reviewJson("pod-create-v1");
      body.request.uid = "uid-lookup-failed";
      const result = (await review(webhook, body)).json() as ReviewAnswer;
      assert.deepEqual(result.response, {
        uid: "uid-lookup-failed",
        allowed: true,
        warnings: [
          "web-identity-webhook could not look up ServiceAccount shop/app: GET serviceaccounts/app timed out after 2000 ms; pod admitted without AWS credentials injection",
        ],
      });
      const line = webhook.log.lines().find((l) => l.uid === "uid-lookup-failed");
      assert.equal(line?.level, 40);
      assert.equal(line?.reason, "lookup-failed");
      assert.equal(line?.warnings, 1);
    } finally {
      source.failure = undefined;
    }
  });

  test("stops waiting for a source that never answers and admits the pod with a warning", async () => {
    source.hang = true;
    try {
      const body = reviewJson("pod-create-v1");
      body.request.uid = "uid-hang";
      const started = performance.now();
      const result = (await review(webhook, body)).json() as ReviewAnswer;
      assert.ok(performance.now() - started < 3000);
      assert.deepEqual(result.response.warnings, [
        "web-identity-webhook could not look up ServiceAccount shop/app: no answer within 1100 ms; pod admitted without AWS credentials injection",
      ]);
      assert.equal(result.response.allowed, true);
    } finally {
      source.hang = false;
    }
  });

  test("refuses, inside a 200 review answer, a pod review whose object is not a pod", async () => {
    const body = reviewJson("pod-create-v1");
    body.request.uid = "uid-bad-object";
    body.request.object = { spec: { containers: "app" } };
    const answer = await review(webhook, body);
    assert.equal(answer.status, 200);
    assert.deepEqual((answer.json() as ReviewAnswer).response, {
      uid: "uid-bad-object",
      allowed: false,
      status: { code: 400, message: "request.object spec.containers is not a list of containers with names" },
    });
  });

  const badInput: ReadonlyArray<
    readonly [
      string,
      { body?: string; headers?: Record<string, string>; method?: string; path?: string },
      number,
      RegExp,
    ]
  > = [
    ["a body that is not JSON", { body: "{not json" }, 400, /^the body is not valid JSON: /],
    ["a JSON array", { body: "[]" }, 400, /^the body is not a JSON object; send an AdmissionReview$/],
    ["a Pod instead of a review", { body: '{"kind":"Pod","apiVersion":"v1"}' }, 400, /^kind is "Pod"/],
    [
      "a review without request.uid",
      {
        body: JSON.stringify({
          ...reviewJson("pod-create-v1"),
          request: { ...reviewJson("pod-create-v1").request, uid: undefined },
        }),
      },
      400,
      /^request\.uid is missing; it must be a non-empty string$/,
    ],
    ["an empty JSON body", { body: "" }, 400, /^the body is empty; send an AdmissionReview as JSON$/],
    [
      "no body and no content type",
      { headers: { "content-length": "0" }, method: "POST" },
      400,
      /^the body is empty; send an AdmissionReview as JSON$/,
    ],
    [
      "a body without a content type",
      { body: reviewText("pod-create-v1"), headers: { "content-type": "" } },
      415,
      /^the request has no Content-Type; send the AdmissionReview as application\/json$/,
    ],
    [
      "a text/plain body",
      { body: reviewText("pod-create-v1"), headers: { "content-type": "text/plain" } },
      415,
      /^content type "text\/plain" is not supported; send application\/json$/,
    ],
    [
      "a YAML body",
      { body: "kind: AdmissionReview", headers: { "content-type": "application/yaml" } },
      415,
      /^content type "application\/yaml" is not supported/,
    ],
    [
      "a body over --max-body-bytes",
      { body: `{"pad":"${"x".repeat(maxBodyBytes)}"}` },
      413,
      /^the body is larger than 65536 bytes \(--max-body-bytes\)$/,
    ],
    ["a GET of /mutate", { method: "GET" }, 404, /^no route for GET \/mutate; reviews go to POST \/mutate$/],
    ["a POST elsewhere", { body: "{}", path: "/mutate-pods" }, 404, /^no route for POST \/mutate-pods/],
  ];
  for (const [name, input, status, message] of badInput) {
    test(`answers ${status} with a JSON error to ${name}, and keeps serving`, async () => {
      const answer = await send(webhook, input);
      assert.equal(answer.status, status, answer.text);
      assert.match(String(answer.headers["content-type"]), /^application\/json/);
      const error = (answer.json() as { error: string }).error;
      assert.match(error, message);
      assert.doesNotMatch(answer.text, /\bat .+\.(ts|js):\d+/, "no stack trace");
      const after = await review(webhook, reviewText("pod-create-v1"));
      assert.equal(after.status, 200);
    });
  }

  test("accepts application/json with parameters", async () => {
    const answer = await send(webhook, {
      body: reviewText("pod-create-v1"),
      headers: { "content-type": "application/json; charset=utf-8" },
    });
    assert.equal(answer.status, 200);
    assert.equal((answer.json() as ReviewAnswer).response.patchType, "JSONPatch");
  });

  test("answers 413 from Content-Length alone, before the body is sent", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({
        host: "127.0.0.1",
        servername: "localhost",
        port: webhook.port,
        method: "POST",
        path: "/mutate",
        ca: [...webhook.ca],
        agent: false,
        headers: { "content-type": "application/json", "content-length": String(50 * 1024 * 1024) },
      });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on("error", reject);
      req.flushHeaders();
    });
    assert.equal(status, 413);
  });

  test("answers 413 while a chunked body streams past the limit, without reading it all", async () => {
    const chunk = Buffer.alloc(16 * 1024, "x");
    const total = 64 * 1024 * 1024;
    let sent = 0;
    const status = await new Promise<number>((resolve, reject) => {
      let answered = false;
      const req = request({
        host: "127.0.0.1",
        servername: "localhost",
        port: webhook.port,
        method: "POST",
        path: "/mutate",
        ca: [...webhook.ca],
        agent: false,
        headers: { "content-type": "application/json", "transfer-encoding": "chunked" },
      });
      req.on("response", (res) => {
        answered = true;
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on("error", (error) => {
        if (!answered) reject(error);
      });
      const pump = () => {
        while (!answered && sent < total) {
          sent += chunk.length;
          if (!req.write(chunk)) {
            req.once("drain", pump);
            return;
          }
        }
        if (!answered) req.end();
      };
      req.write("{");
      pump();
    });
    assert.equal(status, 413);
    assert.ok(sent < total / 4, `sent ${sent} bytes before the answer`);
  });

  test("/healthz answers 200", async () => {
    const answer = await send(webhook, { path: "/healthz" });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.json(), { status: "ok" });
  });
});
