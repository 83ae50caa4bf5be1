import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatEndpoint, readyEndpoints, urlTarget } from "../../../src/doctor/serving-target.js";

describe("readyEndpoints", () => {
  it("takes the target port of the slice port named like the Service port, and the first address of each ready endpoint", () => {
    const endpoints = readyEndpoints({ name: "https", port: 443 }, [
      {
        ports: [
          { name: "metrics", port: 9999 },
          { name: "https", port: 8443 },
        ],
        endpoints: [
          { addresses: ["10.0.0.7", "10.0.0.70"], ready: true },
          { addresses: ["10.0.0.8"], ready: false },
          { addresses: ["10.0.0.9"] },
        ],
      },
    ]);
    assert.deepEqual(endpoints, [
      { host: "10.0.0.7", port: 8443 },
      { host: "10.0.0.9", port: 8443 },
    ]);
  });

  it("matches an unnamed Service port to the unnamed slice port, once per address across slices", () => {
    const slice = { ports: [{ port: 8443 }], endpoints: [{ addresses: ["fd00::7"] }] };
    assert.deepEqual(readyEndpoints({ port: 443 }, [slice, slice]), [{ host: "fd00::7", port: 8443 }]);
  });

  it("finds nothing in a slice without the Service's port", () => {
    const slice = { ports: [{ name: "metrics", port: 9999 }], endpoints: [{ addresses: ["10.0.0.7"] }] };
    assert.deepEqual(readyEndpoints({ name: "https", port: 443 }, [slice]), []);
  });
});

describe("urlTarget", () => {
  it("checks a host name's certificate for the name, and defaults the port to 443", () => {
    assert.deepEqual(urlTarget("https://webhook.example.com/mutate?timeout=5s"), {
      endpoint: { host: "webhook.example.com", port: 443 },
      serverName: "webhook.example.com",
      path: "/mutate?timeout=5s",
    });
  });

  it("checks an IP address's certificate for the address, without SNI", () => {
    assert.deepEqual(urlTarget("https://[fd00::1]:9443/mutate"), {
      endpoint: { host: "fd00::1", port: 9443 },
      serverName: undefined,
      path: "/mutate",
    });
    assert.equal(formatEndpoint({ host: "fd00::1", port: 9443 }), "[fd00::1]:9443");
  });

  it("refuses a URL that is not https", () => {
    assert.equal(urlTarget("http://webhook.example.com/mutate"), undefined);
    assert.equal(urlTarget("not a url"), undefined);
  });
});
