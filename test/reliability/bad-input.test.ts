// Generated reviews, well-formed and broken, against the admission app and the real HTTPS server: every one
// gets a valid AdmissionReview or a clear 4xx, and every patch applies, only adds, and is not needed twice.

import assert from "node:assert/strict";
import { Agent } from "node:https";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { defaultEngineOptions } from "../../src/mutation/options.js";
import { FakeServiceAccountSource } from "../server/support/fake-serviceaccount-source.js";
import { review as sendReview } from "../server/support/https-client.js";
import { startTestWebhook, type TestWebhook } from "../server/support/webhook.js";
import { applyAddOnly, checkAnswer, type HttpAnswer } from "./support/answer-check.js";
import { generatedServiceAccounts, type InMemoryWebhook, inMemoryWebhook } from "./support/app.js";
import { brokenReview, hugePod, junkBody, pod, type ReviewBody, review } from "./support/arbitraries.js";

interface Tally {
  requests: number;
  wellFormed: number;
  broken: number;
  junk: number;
  mutated: number;
  secondPasses: number;
  rejected4xx: number;
}

const tally: Tally = {
  requests: 0,
  wellFormed: 0,
  broken: 0,
  junk: 0,
  mutated: 0,
  secondPasses: 0,
  rejected4xx: 0,
};

/** fast-check parameters: a failure report shows the assertion that failed, not only the counterexample. */
function runs(numRuns: number) {
  return { numRuns, includeErrorInReport: true };
}

type Post = (body: unknown) => Promise<HttpAnswer>;

/** A well-formed review: admitted (a pod CREATE is never refused), its patch add-only and idempotent. */
async function checkWellFormed(post: Post, body: ReviewBody): Promise<void> {
  tally.wellFormed++;
  tally.requests++;
  const answer = checkAnswer(body, await post(body));
  assert.ok(answer !== undefined, "a well-formed review is never a 4xx");
  assert.equal(answer.allowed, true);
  if (answer.patch === undefined) return;
  tally.mutated++;
  const patched = applyAddOnly(body.request.object, answer.patch);
  const again = { ...body, request: { ...body.request, object: patched } };
  tally.secondPasses++;
  tally.requests++;
  const second = checkAnswer(again, await post(again));
  assert.ok(second !== undefined);
  assert.equal(second.patch, undefined, `a second pass patches again: ${JSON.stringify(second.patch)}`);
}

/** Anything else: a valid review or a 4xx; a patch, if any, still only adds to what was sent. */
async function checkAnyBody(post: Post, body: unknown): Promise<void> {
  tally.requests++;
  const answer = checkAnswer(body, await post(body));
  if (answer === undefined) {
    tally.rejected4xx++;
    return;
  }
  if (answer.patch !== undefined) {
    tally.mutated++;
    applyAddOnly((body as ReviewBody).request.object, answer.patch);
  }
}

describe("bad input, in memory (buildApp + inject)", () => {
  let webhook: InMemoryWebhook;
  before(async () => {
    webhook = await inMemoryWebhook();
  });
  after(async () => {
    await webhook.app.close();
  });

  test("admits every well-formed pod review with a patch that only adds and is complete after one pass", async () => {
    await fc.assert(
      fc.asyncProperty(review(pod), (body) => checkWellFormed(webhook.post, body)),
      runs(1000),
    );
  });

  test("handles pods with hundreds of containers, env entries and annotations", async () => {
    await fc.assert(
      fc.asyncProperty(review(hugePod), (body) => checkWellFormed(webhook.post, body)),
      runs(15),
    );
  });

  test("answers a review with a wrong type or a missing value anywhere with a valid review or a 4xx", async () => {
    await fc.assert(
      fc.asyncProperty(brokenReview, async (body) => {
        tally.broken++;
        await checkAnyBody(webhook.post, body);
      }),
      runs(1000),
    );
  });

  test("answers random JSON and text that is not JSON with a 4xx", async () => {
    await fc.assert(
      fc.asyncProperty(junkBody, async (text) => {
        tally.junk++;
        tally.requests++;
        const answer = await webhook.post(text);
        assert.ok(answer.status >= 400 && answer.status < 500, `${answer.status} for ${text.slice(0, 100)}`);
        assert.equal(typeof (JSON.parse(answer.text) as { error: unknown }).error, "string");
      }),
      runs(300),
    );
  });

  test("never logs an internal error or counts one", async () => {
    const failures = webhook.log.lines().filter((line) => (line.level as number) >= 50);
    assert.deepEqual(failures, []);
    const metrics = await webhook.metrics.registry.metrics();
    assert.doesNotMatch(metrics, /reason="internal-error"/);
  });
});

describe("bad input, over HTTPS (startServer)", () => {
  let webhook: TestWebhook;
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  before(async () => {
    webhook = await startTestWebhook({
      source: new FakeServiceAccountSource(generatedServiceAccounts),
      engine: { ...defaultEngineOptions, region: "eu-west-1" },
    });
  });
  after(async () => {
    agent.destroy();
    await webhook.stop();
    const { requests, wellFormed, broken, junk, mutated, secondPasses, rejected4xx } = tally;
    console.log(
      `reliability/bad-input: ${requests} requests (${wellFormed} well-formed reviews, ${broken} broken reviews, ${junk} junk bodies; ${mutated} patches checked add-only, ${secondPasses} second passes, ${rejected4xx} 4xx)`,
    );
  });

  const post: Post = async (body) => {
    const answer = await sendReview(webhook, body, agent);
    return { status: answer.status, text: answer.text };
  };

  test("answers well-formed and broken reviews, 8 at a time, as in memory", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            review(pod).map((body) => ({ wellFormed: true as const, body })),
            brokenReview.map((body) => ({ wellFormed: false as const, body })),
          ),
          { minLength: 8, maxLength: 8 },
        ),
        async (cases) => {
          await Promise.all(
            cases.map(({ wellFormed, body }) => {
              if (wellFormed) return checkWellFormed(post, body);
              tally.broken++;
              return checkAnyBody(post, body);
            }),
          );
        },
      ),
      runs(60),
    );
  });

  test("still answers a normal review, and logged no internal error", async () => {
    const answer = await sendReview(webhook, {
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      request: {
        uid: "after",
        kind: { group: "", version: "v1", kind: "Pod" },
        resource: { group: "", version: "v1", resource: "pods" },
        namespace: "shop",
        operation: "CREATE",
        object: { spec: { serviceAccountName: "app", containers: [{ name: "app" }] } },
      },
    });
    assert.equal(answer.status, 200);
    assert.equal((answer.json() as { response: { patchType: string } }).response.patchType, "JSONPatch");
    const failures = webhook.log.lines().filter((line) => (line.level as number) >= 50);
    assert.deepEqual(failures, [], "no error-level log line");
  });
  test("answers 400 to a review whose uid or kind is nested 100,000 arrays deep (200 KB)", async () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    for (const text of [
      `{"kind":${deep}}`,
      `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":${deep}}}`,
    ]) {
      tally.requests++;
      const answer = await post(text);
      assert.equal(answer.status, 400, answer.text);
    }
  });
});
