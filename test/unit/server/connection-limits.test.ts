import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { connectionCap, fileDescriptorLimit } from "../../../src/server/connection-limits.js";

describe("the connection cap", () => {
  const cases: { name: string; flag: number; fileLimit: number | undefined; cap: number }[] = [
    { name: "keeps --max-connections under a roomy file limit", flag: 4096, fileLimit: 1_048_576, cap: 4096 },
    {
      name: "lowers it to what a 1024-descriptor limit leaves after the reserve",
      flag: 4096,
      fileLimit: 1024,
      cap: 832,
    },
    { name: "keeps it where no limit can be read", flag: 4096, fileLimit: undefined, cap: 4096 },
    { name: "never goes below 16", flag: 4096, fileLimit: 100, cap: 16 },
  ];
  for (const { name, flag, fileLimit, cap } of cases) {
    test(name, () => assert.equal(connectionCap(flag, fileLimit), cap));
  }

  test("reads this process's soft file limit from /proc", async () => {
    const limit = await fileDescriptorLimit();
    assert.ok(limit !== undefined && limit >= 64, `read ${limit}`);
  });
});
